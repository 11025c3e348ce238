package adapters

import (
	"bytes"
	"encoding/gob"
	"errors"
	"testing"

	"github.com/klauspost/compress/s2"

	"github.com/rosterhq/roster/services/internal/groups/app/snapshottest"
)

// A snapshot written before format 2 (issue 12's group fields) is refused,
// so the group is folded from its events instead of read with the new
// fields empty.
func TestFormat1SnapshotIsRefused(t *testing.T) {
	a := snapshottest.Aggregate("G", 2)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(snapshotFile{Format: 1, Agg: *a}); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeSnapshot("G", s2.EncodeBetter(nil, buf.Bytes())); !errors.Is(err, ErrUnusableSnapshot) {
		t.Fatalf("format 1: want ErrUnusableSnapshot, have %v", err)
	}
	data, err := encodeSnapshot(a)
	if err != nil {
		t.Fatal(err)
	}
	have, err := decodeSnapshot("G", data)
	if err != nil {
		t.Fatal(err)
	}
	if m := have.State.Members["u000000"]; m.Nickname() != "n" || m.InviterUserID != "owner" || have.State.NotificationUserID != "owner" {
		t.Fatalf("format %d round trip lost the OpenIM fields: %+v", snapshotFormat, m)
	}
}
