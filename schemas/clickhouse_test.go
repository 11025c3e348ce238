package schemas

import (
	"strings"
	"testing"
)

func TestClickHouseMigrations(t *testing.T) {
	ms, err := ClickHouseMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("want migrations starting at 1, have %+v", ms)
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d: want version %d, have %d (no gaps)", i, i+1, m.Version)
		}
		for _, s := range m.Statements() {
			// 18.16 runs none of these; current ClickHouse would, so a slip
			// would only show on the old server.
			for _, banned := range []string{"DateTime64", " TTL ", "Map(", "CODEC(", "LowCardinality", "JSONExtract"} {
				if strings.Contains(s, banned) {
					t.Errorf("%04d_%s: %q is not available on ClickHouse 18.16", m.Version, m.Name, banned)
				}
			}
		}
	}
}

func TestStatements(t *testing.T) {
	m := Migration{SQL: "-- comment\nCREATE TABLE a (x String);\n\n-- another\nCREATE TABLE b (\n  y String\n);\nSELECT 1"}
	have := m.Statements()
	want := []string{"CREATE TABLE a (x String)", "CREATE TABLE b (\n  y String\n)", "SELECT 1"}
	if len(have) != len(want) {
		t.Fatalf("want %q, have %q", want, have)
	}
	for i := range want {
		if have[i] != want[i] {
			t.Errorf("statement %d: want %q, have %q", i, want[i], have[i])
		}
	}
}
