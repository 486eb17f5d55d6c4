package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// Object is one object DIR defines, with the parts of its definition that
// are compared with the catalog's.
type Object struct {
	Kind Kind
	Ref  Ref
	SQL  string // the statement as written
	Pos  Position

	Query       string // materialized view, pipeline, view
	ViewColumns string // view: the column list as written, "" when none
	PartitionBy []string
	Refresh     string            // the schedule as the catalog writes it: MANUAL, EVERY '1 hour', ...
	Options     map[string]string // validated as the gateway validates them
	Constraints []Constraint
	Connector   string // source: files, kafka, postgres, http
	Location    string // source: the FILES path or HTTP URL
}

// Constraint is an EXPECT quality gate.
type Constraint struct {
	Name      string `json:"name"`
	Predicate string `json:"predicate"`
	Action    string `json:"action"` // FAIL, DROP ROW, WARN
}

// Grant is one privilege on one relation for one grantee.
type Grant struct {
	Privilege   string // SELECT, REFRESH, ...
	On          Ref
	Grantee     string // a role, or PUBLIC
	GrantOption bool
	Pos         Position
}

func (g Grant) key() grantKey { return grantKey{g.Privilege, g.On, g.Grantee} }

type grantKey struct {
	priv    string
	on      Ref
	grantee string
}

// grantAll is what a GRANT names: privileges (nil for ALL) on objects.
type grantAll struct {
	privileges  []string
	on          []Ref
	grantees    []string
	grantOption bool
	pos         Position
}

// Desired is what DIR defines.
type Desired struct {
	Dir     string
	Files   []string // base names, sorted
	Objects []*Object
	grants  []grantAll
}

// Object returns the object DIR defines under ref.
func (d *Desired) Object(ref Ref) *Object {
	for _, o := range d.Objects {
		if o.Ref == ref {
			return o
		}
	}
	return nil
}

// Load reads every *.sql file of dir, in name order, and each statement of
// each file in order, with the dialect's own parser. Only definitions
// belong there: CREATE SOURCE, CREATE [OR REPLACE] MATERIALIZED VIEW,
// CREATE PIPELINE, CREATE [OR REPLACE] VIEW and GRANT privileges ON
// relations; anything else, an object defined twice, or an invalid option
// is an error naming the file and line.
func Load(dir string) (*Desired, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.sql files", dir)
	}
	slices.Sort(files)
	d := &Desired{Dir: dir}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(f)
		d.Files = append(d.Files, base)
		if err := d.loadFile(base, string(data)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Desired) loadFile(name, text string) error {
	stmts, err := sql.Parse(text)
	if err != nil {
		pe := pgerr.As(err)
		line := 0
		if pe.Position > 0 {
			line = lineAt(text, runeOffset(text, int(pe.Position)-1))
		}
		return fmt.Errorf("%s: %s (SQLSTATE %s)", Position{name, line}, pe.Message, pe.Code)
	}
	for _, st := range stmts {
		pos := Position{File: name, Line: lineAt(text, st.Start())}
		if err := d.add(st, pos); err != nil {
			return fmt.Errorf("%s: %w", pos, err)
		}
	}
	return nil
}

// add records one statement.
func (d *Desired) add(st sql.Statement, pos Position) error {
	var o *Object
	switch st := st.(type) {
	case *sql.CreateSource:
		opts := map[string]string{}
		for _, op := range st.Options {
			opts[op.Key] = optionText(op.Value)
		}
		o = &Object{Kind: KindSource, Ref: resolve(st.Name), Connector: strings.ToLower(st.Connector), Location: st.Location, Options: opts}
	case *sql.CreateMaterializedView:
		if !st.WithData {
			return fmt.Errorf("materialized view %s: WITH NO DATA has no place in DIR (apply populates every view it creates or rebuilds)", st.Name)
		}
		opts, err := sqlplan.ValidateViewOptions(rawOptions(st.Options))
		if err != nil {
			return err
		}
		o = &Object{Kind: KindMaterializedView, Ref: resolve(st.Name), Query: st.Query, PartitionBy: st.PartitionBy,
			Refresh: scheduleText(st.Refresh), Options: opts, Constraints: constraints(st.Constraints)}
	case *sql.CreatePipeline:
		opts, err := sqlplan.ValidatePipelineOptions(rawOptions(st.Options))
		if err != nil {
			return err
		}
		o = &Object{Kind: KindPipeline, Ref: resolve(st.Name), Query: st.Query, PartitionBy: st.PartitionBy,
			Refresh: scheduleText(st.Refresh), Options: opts, Constraints: constraints(st.Constraints)}
	case *sql.Passthrough:
		name, cols, query, ok := sql.ViewDefinition(st.Text())
		if !ok {
			return fmt.Errorf("%s is not a definition: DIR holds CREATE SOURCE, MATERIALIZED VIEW, PIPELINE and VIEW and GRANT statements only", firstWords(st.Text()))
		}
		o = &Object{Kind: KindView, Ref: resolve(name), Query: query, ViewColumns: cols}
	case *sql.Grant:
		return d.addGrant(st, pos)
	default:
		return fmt.Errorf("%s is not a definition: DIR holds CREATE SOURCE, MATERIALIZED VIEW, PIPELINE and VIEW and GRANT statements only", firstWords(st.Text()))
	}
	if o.PartitionBy == nil {
		o.PartitionBy = []string{}
	}
	o.SQL, o.Pos = st.Text(), pos
	if prev := d.Object(o.Ref); prev != nil {
		return fmt.Errorf("%s %s is defined twice (also at %s)", o.Kind, o.Ref, prev.Pos)
	}
	d.Objects = append(d.Objects, o)
	return nil
}

// addGrant records GRANT privileges ON relations TO roles.
func (d *Desired) addGrant(st *sql.Grant, pos Position) error {
	switch {
	case st.Revoke:
		return fmt.Errorf("REVOKE has no place in DIR: leave the GRANT out (apply --prune revokes what DIR does not grant)")
	case st.Columns:
		return fmt.Errorf("column privileges are not supported")
	case st.GrantedBy != nil:
		return fmt.Errorf("GRANTED BY is not supported")
	case len(st.AllIn) > 0:
		return fmt.Errorf("GRANT ... ON ALL %s IN SCHEMA is not managed: grant on each object", st.AllKind)
	}
	switch st.Kind {
	case "TABLE", "VIEW", "SOURCE", "MATERIALIZED VIEW", "PIPELINE":
	default:
		return fmt.Errorf("GRANT ... ON %s is not managed: DIR grants privileges on its relations", st.Kind)
	}
	g := grantAll{grantOption: st.GrantOption, pos: pos}
	for _, p := range st.Privileges {
		if p == "ALL" {
			g.privileges = nil
			break
		}
		g.privileges = append(g.privileges, p)
	}
	for _, n := range st.Objects {
		g.on = append(g.on, resolve(n))
	}
	for _, r := range st.Grantees {
		switch {
		case r.Public:
			g.grantees = append(g.grantees, "PUBLIC")
		case r.Current:
			g.grantees = append(g.grantees, "CURRENT_USER")
		default:
			g.grantees = append(g.grantees, r.Name)
		}
	}
	d.grants = append(d.grants, g)
	return nil
}

// privilegesOf are the privileges ALL means for a kind of object.
func privilegesOf(k Kind) []string {
	if k == KindMaterializedView || k == KindPipeline {
		return []string{"SELECT", "REFRESH"}
	}
	return []string{"SELECT"}
}

// scheduleText writes a REFRESH clause as the catalog records it.
func scheduleText(p *sql.RefreshPolicy) string {
	if p == nil {
		return "MANUAL"
	}
	switch p.Kind {
	case sql.RefreshOnChange:
		return "ON CHANGE"
	case sql.RefreshEvery:
		s := "EVERY " + sql.QuoteLiteral(p.Interval)
		if p.AlignedTo != "" {
			s += " ALIGNED TO " + sql.QuoteLiteral(p.AlignedTo)
		}
		return s
	case sql.RefreshCron:
		s := "CRON " + sql.QuoteLiteral(p.Cron)
		if p.TimeZone != "" {
			s += " TIME ZONE " + sql.QuoteLiteral(p.TimeZone)
		}
		return s
	}
	return "MANUAL"
}

func constraints(cs []sql.Constraint) []Constraint {
	var out []Constraint
	for _, c := range cs {
		action := "FAIL"
		switch c.Action {
		case sql.ViolationDropRow:
			action = "DROP ROW"
		case sql.ViolationWarn:
			action = "WARN"
		}
		out = append(out, Constraint{Name: c.Name, Predicate: c.Predicate, Action: action})
	}
	return out
}

func rawOptions(opts []sql.Option) map[string]string {
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		m[o.Key] = o.Value.Text
	}
	return m
}

// optionText is a source option's value as the catalog shows it: a secret
// reference as SECRET name, anything else as its text.
func optionText(v sql.Value) string {
	if v.Kind == sql.ValueSecret {
		return "SECRET " + v.Secret.String()
	}
	return v.Text
}

// lineAt is the 1-based line of byte offset off in text.
func lineAt(text string, off int) int {
	return strings.Count(text[:min(off, len(text))], "\n") + 1
}

// runeOffset is the byte offset of the n-th character (0-based) of text.
func runeOffset(text string, n int) int {
	for i := range text {
		if n == 0 {
			return i
		}
		n--
	}
	return len(text)
}

// firstWords names a statement by its leading keywords.
func firstWords(text string) string {
	kw := sql.LeadingKeywords(text, 2)
	if len(kw) == 0 {
		return "this statement"
	}
	return strings.Join(kw, " ")
}
