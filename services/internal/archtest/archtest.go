// Package archtest holds the layer rules of a service's folders in a test:
// each folder may import only what its rule allows (docs/architecture.md).
package archtest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Layer is one folder of a service and the rule its non-test files'
// imports must meet.
type Layer struct {
	Dir     string
	Allowed func(imp string) bool
	Rule    string
}

// CheckLayers parses the imports of every non-test Go file in each layer's
// folder (relative to the test's package) and reports each import the
// layer's rule refuses. A folder without Go files is an error: the layout
// moved and the rule with it.
func CheckLayers(t testing.TB, layers []Layer) {
	t.Helper()
	for _, l := range layers {
		files, err := filepath.Glob(filepath.Join(l.Dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", l.Dir, err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if !l.Allowed(p) {
					t.Errorf("%s imports %s: %s", path, p, l.Rule)
				}
			}
		}
	}
}

// Stdlib reports whether p is a standard-library import path.
func Stdlib(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}
