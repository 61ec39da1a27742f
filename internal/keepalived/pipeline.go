package keepalived

import "runtime"

// Running the line reader and the dispatcher, concurrently for large inputs.

// lineRec is a logical line handed from the line reader to the dispatcher: kept small (one
// pointer, 32 bytes), as a large configuration has millions of them.
type lineRec struct {
	text string
	line int32
	file int32 // index in lineBatch.files
	cls  uint8
}

// lineBatch carries lines and the file names known when it was sent (the reader only appends
// to its file list, so the snapshot stays valid).
type lineBatch struct {
	recs  []lineRec
	files []string
}

const batchLines = 1024

// produce runs the line reader, handing lines over in batches (recycled through free so that
// memory stays bounded).
func (r *reader) produce(out chan<- lineBatch, free <-chan []lineRec) {
	defer close(out)
	var batch []lineRec
	for {
		s, ok := r.readLine()
		if !ok {
			break
		}
		if batch == nil {
			select {
			case batch = <-free:
			default:
				batch = make([]lineRec, 0, batchLines)
			}
		}
		batch = append(batch, lineRec{text: s, line: int32(r.posLine), file: int32(r.posFile), cls: r.lastCls})
		if len(batch) == batchLines {
			out <- lineBatch{recs: batch, files: r.files}
			batch = nil
		}
	}
	if len(batch) > 0 {
		out <- lineBatch{recs: batch, files: r.files}
	}
}

// The line reader and the dispatcher run concurrently (each is about half of the work) for a
// main file of at least pipelineMin bytes on at least pipelineCPUs CPUs. On two CPUs that are
// also busy with other work (a CI machine running a kernel lab), the hand-over costs more than
// it gains: measured 82-85 ms pipelined against 73-75 ms sequential on a 15 MB configuration.
const (
	pipelineMin  = 1 << 20
	pipelineCPUs = 4
)

// run parses everything, then applies keepalived's post-parse steps.
func run(r *reader) (*Config, Diagnostics) {
	p := &parser{r: r, diags: &sink{}, toks: make([]string, 0, 16)}
	r.checkContext() // a read cancelled before it starts reads nothing
	if runtime.GOMAXPROCS(0) >= pipelineCPUs && r.size() > pipelineMin {
		lines := make(chan lineBatch, 8)
		free := make(chan []lineRec, 12)
		go r.produce(lines, free)
		p.lines, p.free = lines, free
		p.processStream(levelRoot, false)
		for range lines { // the dispatcher reads to the end; drain in case it ever stops early
		}
	} else {
		p.processStream(levelRoot, false)
	}
	diags := merge(r.diags, p.diags)
	post := &sink{}
	if r.blockDepth > 0 && !r.fatal {
		post.warnd(Pos{File: r.files[0]}, "Add the missing '}' (or remove an extra '{').",
			"unbalanced braces: %d block(s) not closed at end of input; keepalived closes them and uses what it read", r.blockDepth)
	}
	cfg := &Config{Files: r.files}
	for _, g := range p.vsgs {
		cfg.Groups = append(cfg.Groups, g.g)
	}
	p.diags = post
	p.finish(cfg)
	cfg.SHA256 = r.sum()
	if r.fileBytes >= releaseTextMin {
		releaseText(r)
	}
	return cfg, append(diags, post.list...)
}

// releaseTextMin is the size of the files read from which run collects their text before
// returning.
const releaseTextMin = 4 << 20

// releaseText collects garbage once, so that the text of the files read, as large as the files
// and garbage now (the Config keeps no piece of it), is free for what the caller builds next
// (vipset.Build allocates about as much again) instead of the heap growing by both. For a
// 21 MB configuration of 10,000 virtual servers this lowers the process's peak memory from
// about 50 to 38 MB and its page faults by a third; the collection does the marking the
// collector would otherwise do during the build.
func releaseText(r *reader) {
	r.stack, r.residue, r.nextPtr, r.mlStack, r.defs, r.seqs, r.mlDef = nil, "", "", nil, nil, nil, nil
	runtime.GC()
}
