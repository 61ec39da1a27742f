package keepalived

// The dispatcher reproduces keepalived's process_stream() for the checker process: keyword
// tables per block level, blocks opened by '{' on the keyword's line or the next, inactive
// (VRRP) blocks skipped by counting braces, and unknown keywords only reported — which means a
// block after an unknown keyword is NOT skipped: its '{' is ignored, its contents are read as
// part of the enclosing block and its '}' closes the enclosing block. keepalived does exactly
// that, so the reader does too (with a warning).

type level uint8

const (
	levelRoot level = iota
	levelVS
	levelRS
	levelGeneric // blocks whose contents do not matter to LVS: keywords and nested blocks are skipped
)

type kwInfo struct {
	inactive bool
	sub      level
	hasSub   bool
	handler  func(p *parser, toks []string)
	close    func(p *parser)
	// needsParam: keepalived exits with a configuration error when the keyword has no value.
	needsParam bool
}

type parser struct {
	r     *reader
	diags *sink
	skip  int // keepalived's skip_sublevel
	level int // keepalived's kw_level

	// Position of the current line: file index (in the batch's list, or -1: seqFile in the
	// reader's list) and line number. linePos() builds the Pos when one is needed.
	lineFile int
	seqFile  int
	lineNo   int
	lineCls  uint8

	lines <-chan lineBatch
	free  chan<- []lineRec
	batch lineBatch
	bi    int

	toks []string
	slab []RealServer
	vss  []*vsBuild
	vsgs []*vsgBuild
}

// linePos is the position of the current line.
func (p *parser) linePos() Pos {
	if p.lineFile < 0 {
		return Pos{File: p.r.files[p.seqFile], Line: p.lineNo}
	}
	return Pos{File: p.batch.files[p.lineFile], Line: p.lineNo}
}

// nextLine returns the next logical line and sets the current position.
func (p *parser) nextLine() (string, bool) {
	if p.lines == nil { // sequential mode
		s, ok := p.r.readLine()
		if !ok {
			return "", false
		}
		p.diags.seq++
		p.lineFile, p.lineNo, p.lineCls = -1, p.r.posLine, p.r.lastCls
		p.seqFile = p.r.posFile
		return s, true
	}
	if p.bi >= len(p.batch.recs) {
		if p.batch.recs != nil {
			select {
			case p.free <- p.batch.recs[:0]:
			default:
			}
		}
		b, ok := <-p.lines
		if !ok {
			p.batch = lineBatch{}
			return "", false
		}
		p.batch, p.bi = b, 0
	}
	rec := &p.batch.recs[p.bi]
	p.bi++
	p.diags.seq++
	p.lineFile, p.lineNo, p.lineCls = int(rec.file), int(rec.line), rec.cls
	return rec.text, true
}

// warnf, warnd and errorf report at the current line.
func (p *parser) warnf(format string, args ...any) { p.diags.warnf(p.linePos(), format, args...) }

func (p *parser) warnd(detail, format string, args ...any) {
	p.diags.warnd(p.linePos(), detail, format, args...)
}

func (p *parser) errorf(detail, format string, args ...any) {
	p.diags.errorf(p.linePos(), detail, format, args...)
}

// processStream follows process_stream(): it reads lines for one block level until its closing
// brace (or end of input).
// It returns true when the block was skipped, so its close handler must not run.
func (p *parser) processStream(lv level, needBob bool) bool {
	for {
		line, ok := p.nextLine()
		if !ok {
			return false
		}
		// Most lines are one keyword and plain values: split them into words only when needed.
		// A simple line has no quotes: a brace in it is the whole line, and its words are
		// split on blanks. Until the keyword matters, str is the whole line.
		var toks []string
		str := line
		simple := p.lineCls&clsQuote == 0 && charClass[line[0]]&clsSpace == 0
		if simple && lv == levelGeneric && p.skip == 0 && !needBob {
			// Fast lane for the bulk of large configurations (health checker blocks): only
			// braces matter here; this is what the general path below does for such lines.
			switch line {
			case "}":
				if p.level > 0 {
					return false
				}
			case "{":
				p.skipBlockBody()
			}
			continue
		}
		if !simple {
			p.toks = p.tokenize(line, p.toks)
			toks = p.toks
			if len(toks) == 0 {
				continue
			}
			str = toks[0]
		}
		if p.skip == -1 {
			if str == "{" {
				p.skip = 1
				needBob = false
				continue
			}
			p.skip = 0
		}
		if p.skip > 0 {
			if simple {
				// Without quotes, a brace is always a line of its own.
				switch line {
				case "{":
					p.skip++
				case "}":
					p.skip--
				}
			} else {
				for _, t := range toks {
					str = t
					if t == "{" {
						p.skip++
					} else if t == "}" {
						p.skip--
						if p.skip == 0 {
							break
						}
					}
				}
			}
			if str == "}" && p.skip == 0 && p.level > 0 {
				return true
			}
			continue
		}
		if simple && lv != levelGeneric {
			// (in generic blocks every keyword is treated alike: only braces matter)
			str, _ = firstWord(line, 0)
		}
		if needBob {
			needBob = false
			if str == "{" && p.level > 0 {
				continue
			}
			p.warnf("missing '{' at the beginning of a block; keepalived reads the following lines as the block's contents")
		} else if str == "{" {
			if lv == levelGeneric {
				// A block of values or sub-keywords after a keyword of a block that does not
				// matter to LVS (keepalived's handler or sub-level consumes it).
				p.skipBlockBody()
				continue
			}
			p.warnf("unexpected '{'; keepalived ignores it and reads what follows as part of the enclosing block")
			continue
		}
		if str == "}" {
			if p.level > 0 {
				return false
			}
			p.warnf("unexpected '}' at the top level; keepalived ignores it (the block it was meant to close ended earlier)")
			continue
		}
		kw := lookup(lv, str)
		if kw == nil {
			p.warnf("unknown keyword %q; keepalived ignores it", str)
			continue
		}
		if simple && (kw.needsParam || kw.handler != nil) {
			p.toks = p.tokenize(line, p.toks)
			toks = p.toks
		}
		call := !kw.inactive && kw.handler != nil
		if kw.needsParam && len(toks) < 2 {
			p.errorf("Give the keyword its value.", "%q is missing its value; keepalived refuses to start with this configuration", str)
			call = false
			if kw.hasSub {
				p.skip = -1
			}
		} else if kw.inactive {
			p.skip = -1
		}
		if call && (lv == levelVS || lv == levelRS) {
			// keepalived applies these to the last virtual (real) server; when that one was
			// rejected and had no block to skip, there may be none.
			b := p.curVS()
			call = b != nil && (lv == levelVS || len(b.rs) > 0)
		}
		bobNeeded := false
		if kw.hasSub {
			// Without quotes a brace is a line of its own, so the block's '{' comes next.
			if toks != nil && toks[len(toks)-1] == "{" {
				toks = toks[:len(toks)-1]
			} else {
				bobNeeded = true
			}
		}
		if call && lv != levelGeneric {
			if ref, word := unexpandedRef(toks, p.lineCls); ref != "" {
				p.warnd(undefinedFix, "%s is not defined (or cannot be substituted here); keepalived uses the text %q literally", ref, word)
			}
		}
		if call {
			kw.handler(p, toks)
		}
		if kw.hasSub {
			p.level++
			skipped := p.processStream(kw.sub, bobNeeded)
			p.level--
			if !skipped && !kw.inactive && kw.close != nil {
				kw.close(p)
			}
		}
	}
}

const undefinedFix = "Define it with `$NAME=value` (no blank before '=') before its first use, and check @id conditionals around the definition. " +
	"keepalived substitutes $NAME only when followed by a blank, ',', ')' or the end of the line; use ${NAME} elsewhere."

// skipBlockBody consumes the lines of a { } block whose '{' was just read (as skip_block() and
// keepalived's handlers of blocks that do not matter to LVS do).
func (p *parser) skipBlockBody() {
	depth := 1
	for depth > 0 {
		line, ok := p.nextLine()
		if !ok {
			return
		}
		switch line {
		case "{":
			depth++
		case "}":
			depth--
		}
	}
}

// Keyword tables. lookup returns pointers to these so that the hot path copies nothing.
var (
	genericKW  = kwInfo{}
	genericSub = kwInfo{hasSub: true, sub: levelGeneric}
	plainKW    = kwInfo{}
	paramKW    = kwInfo{needsParam: true}
	inactiveKW = kwInfo{inactive: true}
	inactSub   = kwInfo{inactive: true, hasSub: true, sub: levelGeneric}
	checkerKW  = kwInfo{hasSub: true, sub: levelGeneric}

	vsKW           = kwInfo{hasSub: true, sub: levelVS, handler: (*parser).vsHandler, close: (*parser).vsEnd, needsParam: true}
	vsgKW          = kwInfo{handler: (*parser).vsgHandler, needsParam: true}
	rsKW           = kwInfo{hasSub: true, sub: levelRS, handler: (*parser).rsHandler, close: (*parser).rsEnd, needsParam: true}
	vsMethodKW     = kwInfo{handler: (*parser).vsMethodHandler, needsParam: true}
	protocolKW     = kwInfo{handler: (*parser).protocolHandler, needsParam: true}
	ipFamilyKW     = kwInfo{handler: (*parser).ipFamilyHandler, needsParam: true}
	granularityKW  = kwInfo{handler: (*parser).granularityHandler, needsParam: true}
	vsWeightKW     = kwInfo{handler: (*parser).vsWeightHandler, needsParam: true}
	sorryKW        = kwInfo{handler: (*parser).sorryHandler, needsParam: true}
	sorryMethodKW  = kwInfo{handler: (*parser).sorryMethodHandler, needsParam: true}
	sorryInhibitKW = kwInfo{handler: (*parser).sorryInhibitHandler}
	rsWeightKW     = kwInfo{handler: (*parser).rsWeightHandler, needsParam: true}
	rsMethodKW     = kwInfo{handler: (*parser).rsMethodHandler, needsParam: true}
)

// lookup is the keyword table of each block level: the keywords keepalived's checker process
// installs (init_check_keywords() and the global, VRRP and BFD keywords it also knows), nil for an
// unknown keyword.
func lookup(lv level, kw string) *kwInfo {
	switch lv {
	case levelGeneric:
		return &genericKW
	case levelRoot:
		switch kw {
		case "virtual_server":
			return &vsKW
		case "virtual_server_group":
			return &vsgKW
		case "global_defs", "SSL", "bfd_instance", "track_file", "vrrp_track_file":
			return &genericSub
		case "linkbeat_use_polling", "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets",
			"use_pid_dir", "instance", "child_wait_time":
			return &plainKW
		case "vrrp_sync_group", "garp_group", "vrrp_instance", "vrrp_script", "vrrp_track_process", "track_group":
			return &inactSub
		case "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "interface_up_down_delays":
			return &inactiveKW
		}
	case levelVS:
		switch kw {
		case "real_server":
			return &rsKW
		case "lb_kind", "lvs_method":
			return &vsMethodKW
		case "protocol":
			return &protocolKW
		case "ip_family":
			return &ipFamilyKW
		case "persistence_granularity":
			return &granularityKW
		case "weight":
			return &vsWeightKW
		case "sorry_server":
			return &sorryKW
		case "sorry_server_lvs_method":
			return &sorryMethodKW
		case "sorry_server_inhibit":
			return &sorryInhibitKW
		case "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "lb_algo", "lvs_sched",
			"persistence_engine", "quorum", "hysteresis":
			return &paramKW
		case "inhibit_on_failure", "hashed", "ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback",
			"mh-port", "mh-fallback", "persistence_timeout", "ha_suspend", "smtp_alert", "virtualhost",
			"snmp_name", "alpha", "omega", "quorum_up", "quorum_down":
			return &plainKW
		}
	case levelRS:
		switch kw {
		case "weight":
			return &rsWeightKW
		case "lvs_method":
			return &rsMethodKW
		case "uthreshold", "lthreshold", "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop":
			return &paramKW
		case "inhibit_on_failure", "notify_up", "notify_down", "alpha", "smtp_alert", "virtualhost", "snmp_name":
			return &plainKW
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "PING_CHECK", "UDP_CHECK",
			"DNS_CHECK", "FILE_CHECK", "BFD_CHECK":
			return &checkerKW
		}
	}
	return nil
}

// curVS is keepalived's list_last_entry(&check_data->vs): the virtual server handlers apply to.
func (p *parser) curVS() *vsBuild {
	if len(p.vss) == 0 {
		return nil
	}
	return p.vss[len(p.vss)-1]
}
