package audit_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var sqlBlock = regexp.MustCompile("(?s)```sql\n(-- name: (\\w+)\n.*?)```")

func namedSQL(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range sqlBlock.FindAllStringSubmatch(string(b), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// The README repeats the SQL of docs/audit.md, which TestDocumentedQueries
// runs against real rows; the copies must not drift apart.
func TestReadmeSQLMatchesTestedDocs(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	docs := namedSQL(t, filepath.Join(root, "docs", "audit.md"))
	readme := namedSQL(t, filepath.Join(root, "README.md"))
	if len(docs) < 4 {
		t.Fatalf("docs/audit.md has %d named queries, want at least 4", len(docs))
	}
	for name, q := range docs {
		if readme[name] != q {
			t.Errorf("README's %q differs from docs/audit.md's", name)
		}
	}
	for name := range readme {
		if _, ok := docs[name]; !ok {
			t.Errorf("README's %q is not in docs/audit.md (and so not tested)", name)
		}
	}
}
