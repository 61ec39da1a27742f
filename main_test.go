package main

import (
	"os"
	"testing"
)

func TestQuietUnlessLogsWanted(t *testing.T) {
	for _, v := range logSwitches {
		t.Setenv(v, "")
	}
	quietUnlessLogsWanted()
	for _, v := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_VIP"} {
		if got := os.Getenv(v); got != "off" {
			t.Errorf("with no log switch set, %s = %q, want off", v, got)
		}
	}
}

func TestQuietUnlessLogsWantedKeepsRequestedLogs(t *testing.T) {
	for _, asked := range []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_ACC_LOG"} {
		t.Run(asked, func(t *testing.T) {
			for _, v := range logSwitches {
				t.Setenv(v, "")
			}
			t.Setenv(asked, "trace")
			quietUnlessLogsWanted()
			if got := os.Getenv("TF_LOG_SDK"); got != "" {
				t.Errorf("with %s set, TF_LOG_SDK = %q, want it left unset", asked, got)
			}
		})
	}
}
