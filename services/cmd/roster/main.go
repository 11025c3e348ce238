// Command roster is Roster's client CLI: it sends group commands, queries
// the membership, manages webhook endpoints and policy hooks, replays events
// and reads the audit trail, all over NATS.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/services/internal/natsx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdout)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "roster:", err)
		var re *replyError
		if errors.As(err, &re) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// globals are the flags every roster subcommand shares.
type globals struct {
	natsURL string
	creds   string
	// nkey, or user with passwordFile ($ROSTER_NATS_PASSWORD otherwise),
	// authenticate without a creds file; inboxPrefix matches what the
	// user may subscribe to (deploy/accounts.conf).
	nkey, user, passwordFile, inboxPrefix string
	json                                  bool
	timeout                               time.Duration
	out                                   io.Writer
	nc                                    *nats.Conn
}

func newRoot(out io.Writer) *cobra.Command {
	g := &globals{out: out}
	root := &cobra.Command{
		Use:           "roster",
		Short:         "Roster client: group commands, membership queries, webhooks, events and audit",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPostRun: func(*cobra.Command, []string) {
			if g.nc != nil {
				g.nc.Close()
			}
		},
	}
	def := os.Getenv("ROSTER_NATS_URL")
	if def == "" {
		def = "nats://127.0.0.1:4222"
	}
	f := root.PersistentFlags()
	f.StringVar(&g.natsURL, "nats-url", def, "NATS server URL ($ROSTER_NATS_URL)")
	f.StringVar(&g.creds, "nats-creds", os.Getenv("ROSTER_NATS_CREDS"), "NATS credentials file")
	f.StringVar(&g.nkey, "nats-nkey", os.Getenv("ROSTER_NATS_NKEY"), "NATS nkey seed file ($ROSTER_NATS_NKEY)")
	f.StringVar(&g.user, "nats-user", os.Getenv("ROSTER_NATS_USER"), "NATS user; the password comes from --nats-password-file or $ROSTER_NATS_PASSWORD")
	f.StringVar(&g.passwordFile, "nats-password-file", os.Getenv("ROSTER_NATS_PASSWORD_FILE"), "file holding the NATS user's password")
	f.StringVar(&g.inboxPrefix, "nats-inbox-prefix", os.Getenv("ROSTER_NATS_INBOX_PREFIX"), "reply-subject prefix your NATS user may subscribe to (e.g. _INBOX_admin; docs/security.md)")
	f.BoolVar(&g.json, "json", false, "print JSON instead of readable output")
	f.DurationVar(&g.timeout, "timeout", 10*time.Second, "how long to wait for a reply")
	addCommands(root, g)
	return root
}

// addCommands builds the command tree in one place, family by family, each
// from the constructor in its own file. "group" and "member" gather verbs
// from two files, the commands that change a group (commands.go) and the
// queries (query.go): those files add their verbs to the shared noun
// (findOrAdd) instead of returning one command.
func addCommands(root *cobra.Command, g *globals) {
	addAuditVerbs(root, g)               // audit.go: audit migrate|commands|events|deliveries|endpoints
	addCommandVerbs(root, g)             // commands.go: group create..., member invite...
	root.AddCommand(newConsoleCmd(g))    // console.go: console add-user
	root.AddCommand(newEventsCmd(g))     // events.go: events replay
	root.AddCommand(newProjectionCmd(g)) // projection.go: projection rebuild
	addQueryVerbs(root, g)               // query.go: group get|changes, member list|get, user groups
	root.AddCommand(newStatus(g))        // status.go: status
	addPolicyVerbs(root, g)              // policy.go: policy create|update|get|list|delete
	addWebhookVerbs(root, g)             // webhook.go: webhook create|get|list|...
}

// conn connects on first use.
func (g *globals) conn() (*nats.Conn, error) {
	if g.nc != nil {
		return g.nc, nil
	}
	cfg := natsx.ClientConfig{
		URL: g.natsURL, Name: "roster-cli", Creds: g.creds, NKey: g.nkey,
		User: g.user, PasswordFile: g.passwordFile, InboxPrefix: g.inboxPrefix,
	}
	if cfg.User != "" && cfg.PasswordFile == "" {
		cfg.Password = os.Getenv("ROSTER_NATS_PASSWORD")
	}
	nc, err := natsx.Connect(cfg)
	if err != nil {
		return nil, err
	}
	g.nc = nc
	return nc, nil
}

// replyError is a failure reply from a Roster service:
// {"error":{"code":...,"message":...}}.
type replyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *replyError) Error() string { return e.Code + ": " + e.Message }

// request sends req as JSON to subject and returns the reply body, or a
// *replyError when the service answered with an error.
func (g *globals) request(ctx context.Context, subject string, req any) (json.RawMessage, error) {
	nc, err := g.conn()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, subject, body)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("%s: no service is listening (is rosterd running?)", subject)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	var env struct {
		Error *replyError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &env); err == nil && env.Error != nil {
		return nil, env.Error
	}
	if msg.Header.Get("Nats-Service-Error-Code") != "" {
		return nil, &replyError{Code: "internal", Message: msg.Header.Get("Nats-Service-Error")}
	}
	return msg.Data, nil
}

// printJSON writes v indented.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printRaw writes a JSON reply indented, keeping its field order.
func (g *globals) printRaw(raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("unreadable reply: %w", err)
	}
	buf.WriteByte('\n')
	_, err := g.out.Write(buf.Bytes())
	return err
}

// findOrAdd returns root's subcommand named name, adding it when missing,
// so several files can add verbs to one noun ("group create", "group get").
func findOrAdd(root *cobra.Command, name, short string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name {
			return c
		}
	}
	c := &cobra.Command{Use: name, Short: short}
	root.AddCommand(c)
	return c
}
