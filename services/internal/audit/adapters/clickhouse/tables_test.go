package clickhouse

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

func TestHeaderArraysRedactSecrets(t *testing.T) {
	names, values := headerArrays(map[string]string{"Webhook-Signature": "v1,abc", "b": "2", "Authorization": "Bearer x"})
	want := map[string]string{"Authorization": record.RedactedValue, "Webhook-Signature": record.RedactedValue, "b": "2"}
	if len(names) != 3 || names[0] != "Authorization" || names[2] != "b" {
		t.Fatalf("want names sorted, have %v", names)
	}
	for i, n := range names {
		if values[i] != want[n] {
			t.Errorf("%s: want %q, have %q", n, want[n], values[i])
		}
	}
}
