package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/membership"
)

// Off a terminal, rebuild progress is plain lines: the first and the last
// always, the ones in between at most every two seconds.
func TestRebuildReporterPlainLines(t *testing.T) {
	var buf bytes.Buffer
	r := newRebuildReporter(&buf, false)
	r.progress(membership.RebuildProgress{Generation: 2, TargetSeq: 200})
	r.progress(membership.RebuildProgress{Generation: 2, AppliedSeq: 50, TargetSeq: 200, Commits: 50, Events: 400})
	r.progress(membership.RebuildProgress{Generation: 2, AppliedSeq: 200, TargetSeq: 200, Commits: 200, Events: 1600})
	r.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, have %q", lines)
	}
	for i, want := range []string{"rebuild generation 2: seq 0/200 (0.0%)", "seq 200/200 (100.0%), 1600 events"} {
		if !strings.Contains(lines[i], want) {
			t.Fatalf("line %d: want %q in %q", i, want, lines[i])
		}
	}
}
