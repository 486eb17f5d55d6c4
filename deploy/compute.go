package deploy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// Action is what a change does.
type Action string

const (
	Create  Action = "create"
	Alter   Action = "alter"   // in place: schedule, options
	Rebuild Action = "rebuild" // a new definition built beside the old one and swapped in
	Replace Action = "replace" // another kind of object under the name: dropped, then created
	Refresh Action = "refresh" // a materialized view that reads, through a plain view, what the plan changes
	GrantOn Action = "grant"
	Revoke  Action = "revoke"
	Drop    Action = "drop"
)

// symbol is the change's mark in the plan, as terraform writes them.
func (a Action) symbol() string {
	switch a {
	case Create, GrantOn:
		return "+"
	case Alter, Refresh:
		return "~"
	case Rebuild, Replace:
		return "-/+"
	case Revoke, Drop:
		return "-"
	}
	return "?"
}

// Class says what a rebuild means for the objects that read it (SQLMesh's
// categories): breaking when a column they may read is removed or changes
// type, non-breaking when columns are only added (or none change).
type Class string

const (
	NonBreaking Class = "non-breaking"
	Breaking    Class = "breaking"
	Unknown     Class = "unknown" // the new query reads what the plan changes first: it binds only then
)

// Change is one step of a plan.
type Change struct {
	Action     Action
	Kind       Kind
	Ref        Ref
	Pos        Position // where DIR defines it ("" for drops)
	Details    []string // what changes, one line each
	Class      Class    // rebuilds and replaces
	Dependants []Ref    // rebuilds: what reads it after the plan, directly or not
	Grant      *Grant   // grants and revokes
	SQL        []string // the statements apply runs, in order
}

// Title is the change's headline, e.g. "rebuild materialized view public.daily".
func (c Change) Title() string {
	if c.Grant != nil {
		g := c.Grant
		opt := ""
		if g.GrantOption {
			opt = " with grant option"
		}
		if c.Action == Revoke {
			return fmt.Sprintf("revoke %s on %s %s from %s%s", g.Privilege, c.Kind, c.Ref, g.Grantee, opt)
		}
		return fmt.Sprintf("grant %s on %s %s to %s%s", g.Privilege, c.Kind, c.Ref, g.Grantee, opt)
	}
	return fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Ref)
}

// Kept is an object or grant the catalog has and DIR does not: dropped or
// revoked only with --prune.
type Kept struct {
	Kind  Kind
	Ref   Ref
	Grant *Grant
}

// Plan is what apply changes, in the order it changes it.
type Plan struct {
	Changes []Change
	Kept    []Kept // without --prune
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// optionDefaults are the values options have when not set: an option set
// to its default and one not set are the same definition, and ALTER ...
// SET resets a removed option to them.
var optionDefaults = map[string]string{"compression": "zstd", "retries": "0", "retry_backoff": "1s", "encryption_key": ""}

// Compute works out the plan: no I/O, so it is golden-tested.
func Compute(in *Inputs) (*Plan, error) {
	c := &computer{in: in, d: in.Desired, cur: in.Current, changed: map[Ref]*Change{}, order: map[Ref]int{}}
	for i, o := range c.d.Objects {
		c.order[o.Ref] = i
	}
	if err := c.objects(); err != nil {
		return nil, err
	}
	c.refreshes()
	if err := c.classify(); err != nil {
		return nil, err
	}
	objects := c.sorted()
	grants, err := c.grants()
	if err != nil {
		return nil, err
	}
	drops, err := c.drops()
	if err != nil {
		return nil, err
	}
	p := &Plan{Kept: c.kept}
	p.Changes = append(append(objects, grants...), drops...)
	return p, nil
}

type computer struct {
	in      *Inputs
	d       *Desired
	cur     *Current
	changed map[Ref]*Change // object changes by object
	order   map[Ref]int     // DIR's order of the objects
	kept    []Kept
}

// objects diffs every object DIR defines with the catalog's.
func (c *computer) objects() error {
	for _, o := range c.d.Objects {
		cur := c.cur.Objects[o.Ref]
		var ch *Change
		var err error
		switch {
		case cur == nil:
			ch = &Change{Action: Create, SQL: []string{o.SQL}}
		case cur.Kind != o.Kind:
			for r, reads := range c.cur.Reads {
				if k := c.cur.Objects[r]; k != nil && k.Kind != KindView && slices.Contains(reads, o.Ref) {
					return fmt.Errorf("%s: %s %s is a %s in DIR: it would be dropped and created, but %s %s reads it", o.Pos, cur.Kind, o.Ref, o.Kind, k.Kind, r)
				}
			}
			ch = &Change{Action: Replace, Details: []string{fmt.Sprintf("%s in the catalog, %s in DIR: dropped, then created (readers find it missing in between)", cur.Kind, o.Kind)},
				SQL: []string{"DROP " + cur.Kind.keyword() + " " + o.Ref.SQL(), o.SQL}}
		case o.Kind == KindSource:
			err = c.source(o, cur)
		case o.Kind == KindView:
			ch = c.view(o, cur)
		default:
			ch, err = c.scheduled(o, cur)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.Pos, err)
		}
		if ch != nil {
			ch.Kind, ch.Ref, ch.Pos = o.Kind, o.Ref, o.Pos
			c.changed[o.Ref] = ch
		}
	}
	return nil
}

// source compares a source. Sources have no ALTER and no CREATE OR
// REPLACE: a changed source is an error, not a plan.
func (c *computer) source(o, cur *Object) error {
	var diffs []string
	if o.Connector != cur.Connector {
		diffs = append(diffs, fmt.Sprintf("connector %s -> %s", cur.Connector, o.Connector))
	}
	if !sameLocation(o.Location, cur.Location) {
		diffs = append(diffs, fmt.Sprintf("location %s -> %s", cur.Location, o.Location))
	}
	for _, k := range unionKeys(o.Options, cur.Options) {
		if !sameSourceOption(k, o.Options, cur.Options) {
			diffs = append(diffs, fmt.Sprintf("option %s", k))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("source %s changed (%s): a source cannot be changed in place yet (ALTER SOURCE and CREATE OR REPLACE SOURCE are not supported); drop it and what reads it, or keep its definition", o.Ref, strings.Join(diffs, ", "))
}

// sameLocation compares a FILES path as written with the one the catalog
// stored: a relative path was stored absolute, resolved against the
// gateway's working directory, which a client does not know: the stored
// path must end with it.
func sameLocation(desired, stored string) bool {
	if desired == stored {
		return true
	}
	if desired == "" || stored == "" || strings.Contains(desired, "://") || path.IsAbs(desired) {
		return false
	}
	rel := path.Clean(desired)
	for strings.HasPrefix(rel, "../") {
		rel = strings.TrimPrefix(rel, "../") // above the working directory: its name is not known
	}
	return strings.HasSuffix(stored, "/"+rel)
}

// sameSourceOption compares a source option with the catalog's, which
// shows credentials as references or masks (docs/security.md): x_env =
// 'V' is x = 'env:V', x_file = '/p' is x = 'file:/p', and a value given in
// clear matches its mask.
func sameSourceOption(k string, desired, stored map[string]string) bool {
	d, dok := desired[k]
	s, sok := stored[k]
	switch {
	case dok && sok:
		return d == s || strings.Contains(s, "********")
	case dok && strings.HasSuffix(k, "_env"):
		return stored[strings.TrimSuffix(k, "_env")] == "env:"+d
	case dok && strings.HasSuffix(k, "_file"):
		return stored[strings.TrimSuffix(k, "_file")] == "file:"+d
	case sok:
		// Shown under the credential's own name.
		return desired[k+"_env"] != "" && s == "env:"+desired[k+"_env"] || desired[k+"_file"] != "" && s == "file:"+desired[k+"_file"]
	}
	return true
}

// view compares a plain view: by DuckDB's parse of the queries (the
// catalog holds DuckDB's rendering of the query, not the text as written)
// and by column names.
func (c *computer) view(o, cur *Object) *Change {
	same := sameQuery(c.in.Views, o.Query, cur.Query)
	if same && o.ViewColumns != "" {
		same = slices.Equal(aliasNames(o.ViewColumns), names(c.cur.Columns[o.Ref]))
	}
	if same {
		return nil
	}
	return &Change{Action: Rebuild, Details: []string{"query changed"}, SQL: []string{sql.OrReplace(o.SQL)}}
}

func sameQuery(canonical map[string]string, a, b string) bool {
	ca, oka := canonical[a]
	cb, okb := canonical[b]
	if oka && okb {
		return ca == cb
	}
	return sql.Normalize(a) == sql.Normalize(b)
}

// scheduled compares a materialized view or pipeline: a new query,
// partitioning or constraints is a rebuild (CREATE OR REPLACE); a new
// schedule or options alone an ALTER in place.
func (c *computer) scheduled(o, cur *Object) (*Change, error) {
	var rebuild, alter []string
	if sql.Normalize(o.Query) != sql.Normalize(cur.Query) {
		rebuild = append(rebuild, "query changed")
	}
	if !slices.Equal(o.PartitionBy, cur.PartitionBy) {
		rebuild = append(rebuild, fmt.Sprintf("partition by: %s -> %s", list(cur.PartitionBy), list(o.PartitionBy)))
	}
	if !sameConstraints(o.Constraints, cur.Constraints) {
		rebuild = append(rebuild, "constraints: "+constraintList(cur.Constraints)+" -> "+constraintList(o.Constraints))
	}
	if o.Refresh != cur.Refresh {
		alter = append(alter, fmt.Sprintf("refresh: %s -> %s", cur.Refresh, o.Refresh))
	}
	set, removed := diffOptions(cur.Options, o.Options)
	var setSQL []string
	for _, k := range slices.Sorted(maps.Keys(set)) {
		alter = append(alter, fmt.Sprintf("option %s: %s -> %s", k, shown(cur.Options, k), shown(o.Options, k)))
		setSQL = append(setSQL, k+" = "+sql.QuoteLiteral(set[k]))
	}
	for _, k := range removed {
		def, resettable := optionDefaults[k]
		alter = append(alter, fmt.Sprintf("option %s: %s -> (not set)", k, shown(cur.Options, k)))
		if resettable {
			setSQL = append(setSQL, k+" = "+sql.QuoteLiteral(def))
		} else if len(rebuild) == 0 {
			rebuild = append(rebuild, fmt.Sprintf("option %s cannot be unset in place", k))
		}
	}
	if len(rebuild) > 0 && o.Kind == KindPipeline {
		rebuild = append(rebuild, "output rebuilt from all the input its sources hold now")
	}
	switch {
	case len(rebuild) > 0:
		return &Change{Action: Rebuild, Details: append(rebuild, alter...), SQL: []string{sql.OrReplace(o.SQL)}}, nil
	case len(alter) > 0:
		ch := &Change{Action: Alter, Details: alter}
		if o.Refresh != cur.Refresh {
			ch.SQL = append(ch.SQL, "ALTER "+o.Kind.keyword()+" "+o.Ref.SQL()+" SET REFRESH "+o.Refresh)
		}
		if len(setSQL) > 0 {
			ch.SQL = append(ch.SQL, "ALTER "+o.Kind.keyword()+" "+o.Ref.SQL()+" SET ("+strings.Join(setSQL, ", ")+")")
		}
		return ch, nil
	}
	return nil, nil
}

// diffOptions returns the options to set (new or changed) and those to
// remove; an option set to its default counts as not set.
func diffOptions(cur, want map[string]string) (set map[string]string, removed []string) {
	set = map[string]string{}
	norm := func(m map[string]string, k string) (string, bool) {
		v, ok := m[k]
		if ok && optionDefaults[k] == v {
			return "", false
		}
		if ok && optionDefaults[k] == "" && v == "" && k == "encryption_key" {
			return "", false
		}
		return v, ok
	}
	for _, k := range unionKeys(cur, want) {
		cv, cok := norm(cur, k)
		wv, wok := norm(want, k)
		switch {
		case wok && (!cok || !sameOptionValue(k, cv, wv)):
			set[k] = wv
		case cok && !wok:
			removed = append(removed, k)
		}
	}
	return set, removed
}

// sameOptionValue compares intervals by their length ('1m' is '60s').
func sameOptionValue(k, a, b string) bool {
	if a == b {
		return true
	}
	switch k {
	case "retry_backoff", "timeout", "min_interval":
		da, erra := sqlplan.ParseInterval(a)
		db, errb := sqlplan.ParseInterval(b)
		return erra == nil && errb == nil && da == db
	}
	return false
}

func sameConstraints(a, b []Constraint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Action != b[i].Action || sql.Normalize(a[i].Predicate) != sql.Normalize(b[i].Predicate) {
			return false
		}
	}
	return true
}

// refreshes adds a refresh of every materialized view that reads what the
// plan rebuilds or replaces and that nothing else refreshes. The gateway
// refreshes the views that read a replaced materialized view or pipeline
// through Sluice's lineage (CREATE OR REPLACE: materialized views reading
// it, and those reading them); a plain view's reads are DuckDB's,
// bound when queried, so a materialized view that reads a changed object
// through a plain view, or reads a changed plain view or a replaced
// object, is refreshed by the plan itself, after what it reads.
func (c *computer) refreshes() {
	readers := c.readers()
	type state struct {
		r       Ref
		covered bool // every step so far is a materialized view the gateway refreshes
	}
	seen := map[state]bool{}
	need := map[Ref]Ref{} // materialized view -> the changed object it reads
	var walk func(r Ref, covered bool, via Ref)
	walk = func(r Ref, covered bool, via Ref) {
		for _, x := range readers[r] {
			mv := c.kindAfter(x) == KindMaterializedView
			s := state{x, covered && mv}
			if seen[s] {
				continue
			}
			seen[s] = true
			if ch := c.changed[x]; mv && !s.covered && (ch == nil || ch.Action == Alter) {
				if _, ok := need[x]; !ok {
					need[x] = via
				}
			}
			walk(x, s.covered, via)
		}
	}
	var starts []Ref
	for r, ch := range c.changed {
		if ch.Action == Rebuild || ch.Action == Replace {
			starts = append(starts, r)
		}
	}
	slices.SortFunc(starts, c.compare)
	for _, r := range starts {
		ch := c.changed[r]
		walk(r, ch.Action == Rebuild && (ch.Kind == KindMaterializedView || ch.Kind == KindPipeline), r)
	}
	for x, via := range need {
		detail := fmt.Sprintf("refreshed: reads %s, which this plan changes", via)
		stmt := "REFRESH MATERIALIZED VIEW " + x.SQL()
		if ch := c.changed[x]; ch != nil {
			ch.Details = append(ch.Details, detail)
			ch.SQL = append(ch.SQL, stmt)
			continue
		}
		ch := &Change{Action: Refresh, Kind: KindMaterializedView, Ref: x, Details: []string{detail}, SQL: []string{stmt}}
		if o := c.d.Object(x); o != nil {
			ch.Pos = o.Pos
		}
		c.changed[x] = ch
	}
}

// classify gives each rebuild and replace its class and dependants, and
// checks that every query DIR defines binds, unless it reads what the plan
// creates or changes first.
func (c *computer) classify() error {
	readers := c.readers()
	for _, o := range c.d.Objects {
		ch := c.changed[o.Ref]
		desc, ok := c.in.Described[o.Ref]
		if !ok || o.Query == "" || ch == nil && desc.Err == nil {
			continue
		}
		if desc.Err != nil {
			if via := c.readsChanged(o.Ref); via != nil {
				if ch != nil && (ch.Action == Rebuild || ch.Action == Replace) {
					ch.Class = Unknown
					ch.Details = append(ch.Details, fmt.Sprintf("columns: known once %s is applied", *via))
				}
				continue
			}
			if ch == nil {
				continue // unchanged: what it reads went away, not this plan's doing
			}
			return fmt.Errorf("%s: %s %s: the query does not bind: %s (SQLSTATE %s)", o.Pos, o.Kind, o.Ref, desc.Err.Message, desc.Err.Code)
		}
		if ch.Action != Rebuild && ch.Action != Replace {
			continue
		}
		cols := desc.Columns
		if o.ViewColumns != "" {
			cols = renamed(cols, aliasNames(o.ViewColumns))
		}
		diff, class := compareColumns(c.cur.Columns[o.Ref], cols)
		if ch.Action == Rebuild {
			ch.Class = class
		}
		ch.Details = append(ch.Details, "columns: "+diff)
		ch.Dependants = c.closure(readers, o.Ref)
	}
	return nil
}

// readsChanged returns an object that r's query reads, directly or not,
// and that the plan creates, rebuilds or replaces before r.
func (c *computer) readsChanged(r Ref) *Ref {
	seen := map[Ref]bool{}
	var walk func(x Ref) *Ref
	walk = func(x Ref) *Ref {
		for _, y := range c.readsAfter(x) {
			if seen[y] {
				continue
			}
			seen[y] = true
			if ch := c.changed[y]; ch != nil && ch.Action != Alter && ch.Action != Refresh {
				return &y
			}
			if v := walk(y); v != nil {
				return v
			}
		}
		return nil
	}
	return walk(r)
}

// compareColumns describes the difference and classifies it.
func compareColumns(old, new []Column) (string, Class) {
	oldBy := map[string]string{}
	for _, c := range old {
		oldBy[c.Name] = c.Type
	}
	newBy := map[string]string{}
	for _, c := range new {
		newBy[c.Name] = c.Type
	}
	var parts []string
	class := NonBreaking
	for _, c := range old {
		t, ok := newBy[c.Name]
		switch {
		case !ok:
			parts = append(parts, fmt.Sprintf("- %s %s", c.Name, c.Type))
			class = Breaking
		case t != c.Type:
			parts = append(parts, fmt.Sprintf("~ %s %s -> %s", c.Name, c.Type, t))
			class = Breaking
		}
	}
	for _, c := range new {
		if _, ok := oldBy[c.Name]; !ok {
			parts = append(parts, fmt.Sprintf("+ %s %s", c.Name, c.Type))
		}
	}
	if len(parts) == 0 {
		return "unchanged", class
	}
	return strings.Join(parts, ", "), class
}

// readsAfter is what r reads once the plan is applied.
func (c *computer) readsAfter(r Ref) []Ref {
	if c.d.Object(r) != nil {
		return c.in.Reads[r]
	}
	return c.cur.Reads[r]
}

// kindAfter is r's kind once the plan is applied.
func (c *computer) kindAfter(r Ref) Kind {
	if o := c.d.Object(r); o != nil {
		return o.Kind
	}
	if o := c.cur.Objects[r]; o != nil {
		return o.Kind
	}
	return ""
}

// readers inverts readsAfter over every object of DIR and the catalog.
func (c *computer) readers() map[Ref][]Ref {
	out := map[Ref][]Ref{}
	all := map[Ref]bool{}
	for _, o := range c.d.Objects {
		all[o.Ref] = true
	}
	for r := range c.cur.Objects {
		all[r] = true
	}
	for r := range all {
		for _, x := range c.readsAfter(r) {
			out[x] = append(out[x], r)
		}
	}
	for x := range out {
		slices.SortFunc(out[x], c.compare)
	}
	return out
}

// closure is every object that reads r, directly or not, in plan order.
func (c *computer) closure(readers map[Ref][]Ref, r Ref) []Ref {
	seen := map[Ref]bool{}
	var out []Ref
	var walk func(x Ref)
	walk = func(x Ref) {
		for _, y := range readers[x] {
			if !seen[y] {
				seen[y] = true
				out = append(out, y)
				walk(y)
			}
		}
	}
	walk(r)
	slices.SortFunc(out, c.compare)
	return out
}

// compare orders objects as DIR does, then the catalog's others by name.
func (c *computer) compare(a, b Ref) int {
	ia, oka := c.order[a]
	ib, okb := c.order[b]
	switch {
	case oka && okb:
		return ia - ib
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a.String(), b.String())
}

// sorted returns the object changes in dependency order (an object after
// what it reads), ties in DIR's order.
func (c *computer) sorted() []Change {
	refs := slices.SortedFunc(maps.Keys(c.changed), c.compare)
	done := map[Ref]bool{}
	visiting := map[Ref]bool{}
	var out []Change
	var visit func(r Ref)
	visit = func(r Ref) {
		if done[r] || visiting[r] {
			return
		}
		visiting[r] = true
		deps := slices.Clone(c.readsAfter(r))
		slices.SortFunc(deps, c.compare)
		for _, d := range deps {
			if c.changed[d] != nil {
				visit(d)
			} else {
				// Through unchanged objects too (a refresh after a plain view).
				c.visitThrough(d, visit, map[Ref]bool{})
			}
		}
		visiting[r] = false
		done[r] = true
		out = append(out, *c.changed[r])
	}
	for _, r := range refs {
		visit(r)
	}
	return out
}

func (c *computer) visitThrough(r Ref, visit func(Ref), seen map[Ref]bool) {
	if seen[r] {
		return
	}
	seen[r] = true
	for _, d := range c.readsAfter(r) {
		if c.changed[d] != nil {
			visit(d)
		} else {
			c.visitThrough(d, visit, seen)
		}
	}
}

// grants compares the privileges DIR grants on its objects with the
// catalog's; what the catalog grants beyond is revoked only with --prune.
func (c *computer) grants() ([]Change, error) {
	want := map[grantKey]Grant{}
	var wantOrder []grantKey
	for _, ga := range c.d.grants {
		for _, on := range ga.on {
			o := c.d.Object(on)
			if o == nil {
				return nil, fmt.Errorf("%s: GRANT on %s: DIR does not define it (grants are managed on DIR's objects)", ga.pos, on)
			}
			privs := ga.privileges
			if privs == nil {
				privs = privilegesOf(o.Kind)
			}
			owner := c.ownerAfter(on)
			for _, p := range privs {
				if !slices.Contains(privilegesOf(o.Kind), p) {
					return nil, fmt.Errorf("%s: GRANT %s on %s %s: a %s has the privileges %s", ga.pos, p, o.Kind, on, o.Kind, strings.Join(privilegesOf(o.Kind), ", "))
				}
				for _, who := range ga.grantees {
					if who == "CURRENT_USER" {
						who = c.in.User
					}
					if who == owner {
						continue // the owner holds every privilege
					}
					g := Grant{Privilege: p, On: on, Grantee: who, Pos: ga.pos}
					k := g.key()
					prev, seen := want[k]
					if !seen {
						wantOrder = append(wantOrder, k)
					}
					g.GrantOption = ga.grantOption || seen && prev.GrantOption
					want[k] = g
				}
			}
		}
	}
	have := map[grantKey]Grant{}
	for _, g := range c.cur.Grants {
		if o := c.d.Object(g.On); o == nil {
			continue
		}
		if ch := c.changed[g.On]; ch != nil && (ch.Action == Create || ch.Action == Replace) {
			continue // a new object has only its owner's privileges
		}
		have[g.key()] = g
	}
	var out []Change
	for _, k := range wantOrder {
		g := want[k]
		h, ok := have[k]
		if ok && (h.GrantOption || !g.GrantOption) {
			continue
		}
		o := c.d.Object(g.On)
		stmt := "GRANT " + g.Privilege + " ON " + o.Kind.keyword() + " " + g.On.SQL() + " TO " + grantee(g.Grantee)
		if g.GrantOption {
			stmt += " WITH GRANT OPTION"
		}
		gg := g
		out = append(out, Change{Action: GrantOn, Kind: o.Kind, Ref: g.On, Pos: g.Pos, Grant: &gg, SQL: []string{stmt}})
	}
	var revokes []Change
	for _, g := range c.cur.Grants {
		if _, ok := have[g.key()]; !ok {
			continue
		}
		w, wanted := want[g.key()]
		kind := c.d.Object(g.On).Kind
		var stmt string
		switch {
		case !wanted:
			stmt = "REVOKE " + g.Privilege + " ON " + kind.keyword() + " " + g.On.SQL() + " FROM " + grantee(g.Grantee)
		case g.GrantOption && !w.GrantOption:
			stmt = "REVOKE GRANT OPTION FOR " + g.Privilege + " ON " + kind.keyword() + " " + g.On.SQL() + " FROM " + grantee(g.Grantee)
		default:
			continue
		}
		gg := g
		if wanted {
			gg.GrantOption = true // what goes is the grant option
		}
		if !c.in.Prune {
			c.kept = append(c.kept, Kept{Kind: kind, Ref: g.On, Grant: &gg})
			continue
		}
		revokes = append(revokes, Change{Action: Revoke, Kind: kind, Ref: g.On, Grant: &gg, SQL: []string{stmt}})
	}
	slices.SortStableFunc(revokes, func(a, b Change) int { return c.compare(a.Ref, b.Ref) })
	return append(out, revokes...), nil
}

// ownerAfter is who owns r once the plan is applied: its owner, or the
// connected role for an object the plan creates.
func (c *computer) ownerAfter(r Ref) string {
	if ch := c.changed[r]; ch != nil && (ch.Action == Create || ch.Action == Replace) {
		return c.in.User
	}
	if o := c.cur.Owners[r]; o != "" {
		return o
	}
	return c.in.User
}

func grantee(g string) string {
	if g == "PUBLIC" {
		return g
	}
	return sql.QuoteIdent(g)
}

// drops lists the catalog's objects in DIR's schemas that DIR does not
// define: dropped with --prune (what reads them first), kept otherwise.
func (c *computer) drops() ([]Change, error) {
	schemas := map[string]bool{}
	for _, o := range c.d.Objects {
		schemas[o.Ref.Schema] = true
	}
	gone := map[Ref]bool{}
	var refs []Ref
	for r := range c.cur.Objects {
		if schemas[r.Schema] && c.d.Object(r) == nil {
			gone[r] = true
			refs = append(refs, r)
		}
	}
	slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
	if !c.in.Prune {
		for _, r := range refs {
			c.kept = append(c.kept, Kept{Kind: c.cur.Objects[r].Kind, Ref: r})
		}
		return nil, nil
	}
	readers := c.readers()
	for _, r := range refs {
		for _, x := range readers[r] {
			if !gone[x] {
				return nil, fmt.Errorf("--prune would drop %s %s, which %s %s reads: define it in DIR, or change what reads it", c.cur.Objects[r].Kind, r, c.kindAfter(x), x)
			}
		}
	}
	// Readers first.
	done := map[Ref]bool{}
	var out []Change
	var visit func(r Ref)
	visit = func(r Ref) {
		if done[r] {
			return
		}
		done[r] = true
		for _, x := range readers[r] {
			if gone[x] {
				visit(x)
			}
		}
		k := c.cur.Objects[r].Kind
		out = append(out, Change{Action: Drop, Kind: k, Ref: r, SQL: []string{"DROP " + k.keyword() + " " + r.SQL()}})
	}
	for _, r := range refs {
		visit(r)
	}
	return out, nil
}

func unionKeys(a, b map[string]string) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return slices.Sorted(maps.Keys(keys))
}

func shown(m map[string]string, k string) string {
	v, ok := m[k]
	if !ok {
		return "(not set)"
	}
	return sql.QuoteLiteral(v)
}

func list(items []string) string {
	if len(items) == 0 {
		return "()"
	}
	return "(" + strings.Join(items, ", ") + ")"
}

func constraintList(cs []Constraint) string {
	if len(cs) == 0 {
		return "(none)"
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+" "+c.Action)
	}
	return strings.Join(parts, ", ")
}

func names(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// aliasNames reads a view's column list "(a, "B")".
func aliasNames(list string) []string {
	list = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(list), "("), ")")
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if strings.HasPrefix(n, `"`) {
			n = strings.ReplaceAll(strings.Trim(n, `"`), `""`, `"`)
		} else {
			n = strings.ToLower(n)
		}
		out = append(out, n)
	}
	return out
}

// renamed gives the first columns the view's aliases.
func renamed(cols []Column, aliases []string) []Column {
	out := slices.Clone(cols)
	for i := range out {
		if i < len(aliases) {
			out[i].Name = aliases[i]
		}
	}
	return out
}
