package main

// `gateway plan DIR` and `gateway apply DIR`: pipelines as code, over the
// wire like any client (package deploy; docs/operations.md, Pipelines as
// code).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/sluice-db/sluice/deploy"
)

// plan's exit codes (terraform plan -detailed-exitcode's): 2 means changes
// are pending only with --exit-code, so a usage error is 1 here too.
const (
	planNoChanges = 0
	planFailed    = 1
	planChanges   = 2
)

// applyPauseEnv makes apply wait between changes: a test hook, to kill it
// between two statements.
const applyPauseEnv = "SLUICE_APPLY_PAUSE"

func planCmd(args []string, stdout, stderr io.Writer) int {
	return deployCmd("plan", args, stdout, stderr)
}

func applyCmd(args []string, stdout, stderr io.Writer) int {
	return deployCmd("apply", args, stdout, stderr)
}

func deployCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf deploy.ConnFlags
	fs.StringVar(&cf.URL, "url", "", "connection URL or key=value string (postgres://user@host:port/sluice?sslmode=...)")
	fs.StringVar(&cf.Host, "host", "", "gateway host (default $PGHOST, else 127.0.0.1)")
	fs.StringVar(&cf.Port, "port", "", "gateway port (default $PGPORT, else 5433)")
	fs.StringVar(&cf.User, "user", "", "role to connect as (default $PGUSER, else sluice); the password comes from $PGPASSWORD or the password file")
	fs.StringVar(&cf.DBName, "dbname", "", "database (default $PGDATABASE, else sluice)")
	fs.StringVar(&cf.SSLMode, "sslmode", "", "disable, prefer, require, verify-ca or verify-full (default $PGSSLMODE, else prefer)")
	prune := fs.Bool("prune", false, "drop the objects of DIR's schemas that DIR does not define, and revoke the grants on its objects it does not make")
	exitCode := false
	if name == "plan" {
		fs.BoolVar(&exitCode, "exit-code", false, "exit 2 when changes are pending (0 when none, 1 on error), for CI")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gateway %s DIR [--prune] [--url URL | --host H --port P --user U --dbname D --sslmode M]", name)
		if name == "plan" {
			fmt.Fprint(stderr, " [--exit-code]")
		}
		fmt.Fprintln(stderr)
		if name == "plan" {
			fmt.Fprintln(stderr, "Compares the *.sql files of DIR with a gateway's catalog and prints what apply would change.")
		} else {
			fmt.Fprintln(stderr, "Changes a gateway's catalog to what the *.sql files of DIR define, recording it in sluice.deployments.")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return planFailed
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return planFailed
	}
	connString, err := cf.ConnString(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "gateway %s: %v\n", name, err)
		return planFailed
	}
	var pause time.Duration
	if v := os.Getenv(applyPauseEnv); v != "" && name == "apply" {
		if pause, err = time.ParseDuration(v); err != nil {
			fmt.Fprintf(stderr, "gateway apply: %s: %v\n", applyPauseEnv, err)
			return planFailed
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	desired, err := deploy.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "gateway %s: %v\n", name, err)
		return planFailed
	}
	client, err := deploy.Connect(ctx, connString)
	if err != nil {
		fmt.Fprintf(stderr, "gateway %s: connecting: %v\n", name, err)
		return planFailed
	}
	defer client.Close(context.Background())
	in, err := deploy.Inspect(ctx, client.Conn, desired, *prune)
	if err != nil {
		fmt.Fprintf(stderr, "gateway %s: %v\n", name, err)
		return planFailed
	}
	plan, err := deploy.Compute(in)
	if err != nil {
		fmt.Fprintf(stderr, "gateway %s: %v\n", name, err)
		return planFailed
	}
	fmt.Fprint(stdout, plan.Text())
	if name == "plan" {
		if exitCode && !plan.Empty() {
			return planChanges
		}
		return planNoChanges
	}
	if plan.Empty() {
		return exitOK
	}
	fmt.Fprintln(stdout)
	if err := deploy.Apply(ctx, client, plan, deploy.ApplyOptions{Out: stdout, Pause: pause}); err != nil {
		fmt.Fprintf(stderr, "gateway apply: %v\n", err)
		return exitFailed
	}
	return exitOK
}
