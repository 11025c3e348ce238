package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// clickhouseFS holds the audit trail's versioned DDL: clickhouse/NNNN_name.sql,
// applied in order by the audit sink and "roster audit migrate". A file, once
// released, is never edited: a change is a new file.
//
//go:embed clickhouse/*.sql
var clickhouseFS embed.FS

// Migration is one versioned DDL file. Its statements use unqualified table
// names: they run with the target database as the session's default, so the
// same files serve database roster and the tests' throw-away databases.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Statements splits the file into statements: each ends with ";" at the end
// of a line. Comment lines ("--") are dropped. The DDL never puts ";" at a
// line end inside a string literal.
func (m Migration) Statements() []string {
	var (
		out []string
		cur strings.Builder
	)
	for _, line := range strings.Split(m.SQL, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, s)
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// ClickHouseMigrations returns the audit DDL in version order. Versions are
// the file names' numeric prefixes and must be unique.
func ClickHouseMigrations() ([]Migration, error) {
	names, err := fs.Glob(clickhouseFS, "clickhouse/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, n := range names {
		base := path.Base(n)
		num, rest, ok := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("clickhouse migration %s: name must be NNNN_name.sql", base)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("clickhouse migrations %s and %s share version %d", other, base, v)
		}
		seen[v] = base
		b, err := clickhouseFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
