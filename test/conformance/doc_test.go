// Package conformance checks that docs/conformance.md, the CloudEvents
// conformance table, and the table-driven tests that implement it name the
// same rows.
package conformance

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// idRe is a row id: "CE-" and an area, then a number.
var idRe = regexp.MustCompile(`CE-(JSON|CORE|TYPE|V03|HTTP|KAFKA|INTEROP)-\d+`)

// TestTableMatchesTests reads docs/conformance.md and every _test.go file of
// the repository: each id of the table is a string literal in its "tested
// in" file, and each id a test names is a row of the table.
func TestTableMatchesTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "conformance.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // id → tested in
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| CE-") {
			continue
		}
		// A "|" inside a cell is written "\|", as GitHub's tables want.
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) != 7 {
			t.Errorf("row %q: want 5 cells (id, spec, level, rule, tested in)", line)
			continue
		}
		id, in := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[5])
		if !idRe.MatchString(id) || idRe.FindString(id) != id {
			t.Errorf("row %q: bad id %q", line, id)
		}
		if _, dup := rows[id]; dup {
			t.Errorf("id %s: two rows", id)
		}
		if level := strings.TrimSpace(cells[3]); !slices.Contains([]string{"MUST", "SHOULD", "MAY", "Weft"}, level) {
			t.Errorf("id %s: level %q is not MUST, SHOULD, MAY or Weft", id, level)
		}
		rows[id] = in
	}
	if len(rows) < 100 {
		t.Fatalf("docs/conformance.md has %d rows; the table is missing or unreadable", len(rows))
	}

	inTests := map[string][]string{} // id → test files naming it as a literal
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, filepath.Join("conformance", "doc_test.go")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range regexp.MustCompile(`"(CE-[A-Z0-9]+-\d+)"`).FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(inTests[m[1]], rel) {
				inTests[m[1]] = append(inTests[m[1]], filepath.ToSlash(rel))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, in := range rows {
		files := inTests[id]
		if len(files) == 0 {
			t.Errorf("%s: in docs/conformance.md but no test names it", id)
			continue
		}
		if !slices.Contains(files, in) {
			t.Errorf("%s: docs/conformance.md says it is tested in %s, but the tests naming it are %v", id, in, files)
		}
	}
	for id, files := range inTests {
		if _, ok := rows[id]; !ok {
			t.Errorf("%s: named by %v but not a row of docs/conformance.md", id, files)
		}
	}
}
