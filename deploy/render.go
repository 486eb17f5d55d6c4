package deploy

import (
	"fmt"
	"strings"
)

// Text renders the plan as plan prints it and the deployment records it:
// one block per change, in the order apply runs them, each headed by its
// mark (+ create or grant, ~ alter or refresh, -/+ rebuild or replace,
// - drop or revoke), its kind and name and where DIR defines it, with its
// details indented below; then a summary line, then what the catalog has
// beyond DIR and keeps without --prune.
func (p *Plan) Text() string {
	var b strings.Builder
	if p.Empty() {
		b.WriteString("No changes: the catalog matches DIR.\n")
	}
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "%-3s %s", c.Action.symbol(), c.Title())
		if c.Class != "" {
			fmt.Fprintf(&b, " (%s)", c.Class)
		}
		if c.Pos.File != "" {
			fmt.Fprintf(&b, "  [%s]", c.Pos)
		}
		b.WriteByte('\n')
		for _, d := range c.Details {
			fmt.Fprintf(&b, "      %s\n", d)
		}
		if len(c.Dependants) > 0 {
			var names []string
			for _, r := range c.Dependants {
				names = append(names, r.String())
			}
			fmt.Fprintf(&b, "      dependants: %s\n", strings.Join(names, ", "))
		}
	}
	if !p.Empty() {
		b.WriteString("\n" + p.Summary() + "\n")
	}
	if len(p.Kept) > 0 {
		b.WriteString("\nKept (the catalog has them, DIR does not; apply --prune removes them):\n")
		for _, k := range p.Kept {
			if k.Grant != nil {
				what := k.Grant.Privilege
				if k.Grant.GrantOption {
					what = "grant option for " + what
				}
				fmt.Fprintf(&b, "    %s on %s %s to %s\n", what, k.Kind, k.Ref, k.Grant.Grantee)
				continue
			}
			fmt.Fprintf(&b, "    %s %s\n", k.Kind, k.Ref)
		}
	}
	return b.String()
}

// Summary counts the changes: "Plan: 1 to create, 0 to alter, 2 to rebuild
// (1 breaking), 0 to drop." and the others when there are any.
func (p *Plan) Summary() string {
	n := map[Action]int{}
	breaking, unknown := 0, 0
	for _, c := range p.Changes {
		n[c.Action]++
		switch c.Class {
		case Breaking:
			breaking++
		case Unknown:
			unknown++
		}
	}
	rebuild := fmt.Sprintf("%d to rebuild", n[Rebuild])
	var cls []string
	if breaking > 0 {
		cls = append(cls, fmt.Sprintf("%d breaking", breaking))
	}
	if unknown > 0 {
		cls = append(cls, fmt.Sprintf("%d unknown", unknown))
	}
	if len(cls) > 0 {
		rebuild += " (" + strings.Join(cls, ", ") + ")"
	}
	parts := []string{fmt.Sprintf("%d to create", n[Create]), fmt.Sprintf("%d to alter", n[Alter]), rebuild}
	for _, x := range []struct {
		a    Action
		what string
	}{{Replace, "to replace"}, {Refresh, "to refresh"}, {GrantOn, "to grant"}, {Revoke, "to revoke"}} {
		if n[x.a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[x.a], x.what))
		}
	}
	parts = append(parts, fmt.Sprintf("%d to drop", n[Drop]))
	return "Plan: " + strings.Join(parts, ", ") + "."
}
