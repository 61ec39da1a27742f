package sshhost

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// encodeExpectation renders a validated expectation step (see target.Expectations) as a helper
// request line: "expect link 0|1", "expect managed NAME ALIAS", "expect count N",
// "expect sysctl IF KEY VALUE|-".
func encodeExpectation(s target.Step) (string, error) {
	switch s.Op {
	case target.OpExpectLink:
		if s.Value != 0 && s.Value != 1 {
			return "", fmt.Errorf("link expectation %d is not 0 or 1", s.Value)
		}
		return "expect link " + strconv.Itoa(s.Value), nil
	case target.OpExpectManaged:
		if _, err := target.ParseIfName(string(s.Peer)); err != nil {
			return "", err
		}
		if err := target.ValidAlias(s.Alias); err != nil || s.Alias == "" {
			return "", errors.Join(errors.New("invalid alias expectation"), err)
		}
		return "expect managed " + string(s.Peer) + " " + s.Alias, nil
	case target.OpExpectManagedCount:
		if s.Value < 0 || s.Value > 99999 {
			return "", fmt.Errorf("managed count %d out of range", s.Value)
		}
		return "expect count " + strconv.Itoa(s.Value), nil
	case target.OpExpectSysctl:
		if err := s.Sysctl.Validate(); err != nil {
			return "", err
		}
		v := "-"
		switch {
		case s.Value >= 0 && s.Value <= 999:
			v = strconv.Itoa(s.Value)
		case s.Value != -1:
			return "", fmt.Errorf("sysctl expectation %d out of range", s.Value)
		}
		return "expect sysctl " + s.Sysctl.Interface + " " + s.Sysctl.Key + " " + v, nil
	}
	return "", fmt.Errorf("not an expectation: %v", s.Op)
}
