package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// receiver is a real HTTP webhook receiver that keeps every delivery.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []http.Header
	body [][]byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got, r.body = append(r.got, req.Header.Clone()), append(r.body, b)
		r.mu.Unlock()
		if strings.HasSuffix(req.URL.Path, "/policy") {
			// A standard policy hook's answer (docs/policy.md).
			_, _ = w.Write([]byte(`{"allow":true}`))
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// find returns the first request whose body contains every one of ss.
func (r *receiver) find(ss ...string) (http.Header, []byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for i, b := range r.body {
		for _, s := range ss {
			if !strings.Contains(string(b), s) {
				continue next
			}
		}
		return r.got[i], b, true
	}
	return nil, nil, false
}

type wireError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func callJSON(t *testing.T, c *client, subject string, body any) (json.RawMessage, wireError) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Request(subject, b, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var we wireError
	_ = json.Unmarshal(m.Data, &we)
	return m.Data, we
}

func mustOK(t *testing.T, c *client, subject string, body any) json.RawMessage {
	t.Helper()
	data, we := callJSON(t, c, subject, body)
	if we.Error.Code != "" {
		t.Fatalf("%s: %s: %s", subject, we.Error.Code, we.Error.Message)
	}
	return data
}

// TestShippedDeployConfig runs every Roster service, each with its own
// credential, against deploy/nats-server.conf on a real nats-server, plays
// the legitimate flow (commands, queries, an operator's endpoint, a signed
// delivery), and then each attack of issue 10; every attack is refused and
// no service ever needed more than its grant.
func TestShippedDeployConfig(t *testing.T) {
	d := startDeployment(t)
	ctx := context.Background()
	callers := func(o *options) { o.callers = "APP_A=trusted,APP_B=bound,OPERATOR=trusted" }
	// roster-groups calls the policy hooks through the same SSRF guard
	// as the dispatcher, so the loopback receiver must be allowlisted.
	d.runService(t, "groups", func(o *options) { callers(o); o.webhookAllow = []string{"127.0.0.0/8"} })
	d.runService(t, "projector", nil)
	d.runService(t, "query", nil)
	d.runService(t, "dispatcher", func(o *options) { o.webhookAllow = []string{"127.0.0.0/8"} })
	dsn, _ := testDemoDSN(t)
	d.runService(t, "auditsink", func(o *options) { o.clickhouseDSN = dsn })
	d.runService(t, "policy", func(o *options) { o.webhookAllow = []string{"127.0.0.0/8"} })

	// APP_A's requests use their own inbox prefix, so the sniffer below
	// can tell APP_A's own replies from anyone else's.
	appA := d.user(t, "app_a", "app_a", "_INBOX.app_a")
	alice := d.user(t, "app_b_alice", "alice", "_INBOX_alice")
	bob := d.user(t, "app_b_bob", "bob", "_INBOX_bob")
	op := d.user(t, "operator", "operator", "")
	admin := d.jetStreamAdmin(t)

	// A second connection of APP_A that only listens: whatever it hears
	// on _INBOX.> while others work is someone else's reply.
	sniffer := d.user(t, "app_a", "app_a", "")
	sniffed, err := sniffer.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sniffer.Flush(); err != nil {
		t.Fatal(err)
	}

	natstest.WaitEndpoints(t, op.Conn, "roster-groups", 1)
	natstest.WaitEndpoints(t, op.Conn, "roster-webhooks", 1)
	natstest.WaitEndpoints(t, op.Conn, "roster-query", 1)
	natstest.WaitEndpoints(t, op.Conn, policy.ServiceName, len(policy.Verbs))

	// The legitimate flow. The operator creates an endpoint through
	// roster-webhooks and gets its secret.
	rcv := newReceiver(t)
	var created webhook.EndpointReply
	if err := json.Unmarshal(mustOK(t, op, "roster.webhook.endpoint.create", webhook.CreateRequest{
		Actor: "ops", ID: "ep_test", URL: rcv.URL, Format: endpoint.FormatStandard,
	}), &created); err != nil || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("endpoint create: %v %+v", err, created)
	}
	// The operator registers a policy hook through roster-policy; the
	// roster-groups credential watches the hooks bucket, read only, and
	// opens the hook's secret with the deployment's key.
	var hk policy.HookReply
	if err := json.Unmarshal(mustOK(t, op, "roster.policy.hook.create", policy.CreateRequest{
		Actor: "ops", ID: "hk_test", Command: "member.invite", URL: rcv.URL + "/policy", Format: "standard", OnFailure: "allow",
	}), &hk); err != nil || !strings.HasPrefix(hk.Secret, "whsec_") {
		t.Fatalf("hook create: %v %+v", err, hk)
	}
	deny := hook.Deny
	mustOK(t, op, "roster.policy.hook.update", policy.UpdateRequest{Actor: "ops", ID: "hk_test", OnFailure: &deny})
	groupsJS, err := jetstream.New(d.service(t, "groups").Conn)
	if err != nil {
		t.Fatal(err)
	}
	sealKey, err := endpoint.ParseKey(os.Getenv("ROSTER_WEBHOOK_SECRET_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := endpoint.NewKeyring(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	hooks := policy.NewView(policy.ViewConfig{JS: groupsJS, Keys: ring, Log: zerolog.Nop()})
	viewCtx, stopView := context.WithCancel(ctx)
	viewDone := make(chan error, 1)
	go func() { viewDone <- hooks.Run(viewCtx) }()
	t.Cleanup(func() { stopView(); <-viewDone })
	natstest.Eventually(t, 10*time.Second, func() error {
		hs := hooks.ForCommand("member.invite")
		if len(hs) != 1 || hs[0].ID != "hk_test" || len(hs[0].Secrets) != 1 || hs[0].Secrets[0] != hk.Secret || hs[0].OnFailure != "deny" {
			return fmt.Errorf("roster-groups' view of the hooks: %+v", hs)
		}
		return nil
	})
	// roster-groups' own view follows the bucket a moment later (a KV
	// watch, docs/policy.md): probe invites until it asks the hook.
	mustOK(t, appA, "roster.cmd.group.create", map[string]any{"group_id": "GPROBE", "actor": "owner-a", "name": "probe"})
	probe := 0
	natstest.Eventually(t, 10*time.Second, func() error {
		probe++
		mustOK(t, appA, "roster.cmd.member.invite", map[string]any{"group_id": "GPROBE", "actor": "owner-a", "user_ids": []string{fmt.Sprintf("p%d", probe)}})
		if _, _, ok := rcv.find(`"policy.check"`); !ok {
			return fmt.Errorf("roster-groups has not asked the hook after %d invites", probe)
		}
		return nil
	})
	// A trusted backend acts for its users.
	mustOK(t, appA, "roster.cmd.group.create", map[string]any{"group_id": "GA", "actor": "owner-a", "name": "A"})
	mustOK(t, appA, "roster.cmd.member.invite", map[string]any{"group_id": "GA", "actor": "owner-a", "user_ids": []string{"u1"}})
	natstest.Eventually(t, 15*time.Second, func() error {
		data, we := callJSON(t, appA, membership.SubjectMembers, map[string]any{"group_id": "GA"})
		if we.Error.Code != "" || !strings.Contains(string(data), `"u1"`) {
			return fmt.Errorf("members of GA: %s", data)
		}
		return nil
	})
	// The delivery is signed with the endpoint's secret.
	var hdr http.Header
	var body []byte
	natstest.Eventually(t, 15*time.Second, func() error {
		var ok bool
		if hdr, body, ok = rcv.find(`"member.invited"`); !ok {
			return fmt.Errorf("no delivery of the invite among %d", len(rcv.body))
		}
		return nil
	})
	// roster-groups asked the hook before deciding the invite, signed with
	// the hook's secret, which it opened with the deployment's key.
	phdr, pbody, ok := rcv.find(`"policy.check"`, `"group_id":"GA"`)
	if !ok {
		t.Fatal("roster-groups did not call the member.invite hook for GA")
	}
	hookKey, err := delivery.ParseSecret(hk.Secret)
	if err != nil {
		t.Fatal(err)
	}
	pts, _ := strconv.ParseInt(phdr.Get(delivery.HeaderTimestamp), 10, 64)
	if want := delivery.Sign(phdr.Get(delivery.HeaderID), time.Unix(pts, 0), pbody, [][]byte{hookKey}); phdr.Get(delivery.HeaderSignature) != want {
		t.Fatalf("hook call signature %q, want %q", phdr.Get(delivery.HeaderSignature), want)
	}
	key, err := delivery.ParseSecret(created.Secret)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := strconv.ParseInt(hdr.Get(delivery.HeaderTimestamp), 10, 64)
	if want := delivery.Sign(hdr.Get(delivery.HeaderID), time.Unix(ts, 0), body, [][]byte{key}); hdr.Get(delivery.HeaderSignature) != want {
		t.Fatalf("signature %q, want %q", hdr.Get(delivery.HeaderSignature), want)
	}
	// History reads ROSTER_EVENTS through the query service's consumer.
	if data := mustOK(t, appA, membership.SubjectChanges, map[string]any{"group_id": "GA"}); !strings.Contains(string(data), "member.invited") {
		t.Fatalf("changes of GA: %s", data)
	}
	// The command service's snapshot store works with its grant (the
	// service writes and reads snapshots only past thousands of events).
	gjs, err := jetstream.New(d.service(t, "groups").Conn)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := gjs.ObjectStore(ctx, "ROSTER_SNAPSHOTS")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snaps.PutBytes(ctx, "accounts-test-probe", []byte("snapshot")); err != nil {
		t.Fatalf("put snapshot: %v", err)
	}
	if b, err := snaps.GetBytes(ctx, "accounts-test-probe"); err != nil || string(b) != "snapshot" {
		t.Fatalf("get snapshot: %q %v", b, err)
	}
	// A bound user acts as itself.
	mustOK(t, alice, "roster.cmd.group.create", map[string]any{"group_id": "GB", "actor": "alice", "name": "B"})
	mustOK(t, alice, "roster.cmd.member.invite", map[string]any{"group_id": "GB", "actor": "alice", "user_ids": []string{"bob"}})

	// "roster projection rebuild" runs as admin; the projector and the
	// query service follow the new generation with their own grants.
	res, err := membership.Rebuild(ctx, membership.RebuildConfig{JS: admin, Log: zerolog.Nop(), Store: membership.StoreConfig{Replicas: 1}, DropOld: true})
	if err != nil || res.To.Number != 2 {
		t.Fatalf("rebuild: %+v %v", res, err)
	}
	mustOK(t, appA, "roster.cmd.member.invite", map[string]any{"group_id": "GA", "actor": "owner-a", "user_ids": []string{"u2"}})
	natstest.Eventually(t, 15*time.Second, func() error {
		data, we := callJSON(t, appA, membership.SubjectMembers, map[string]any{"group_id": "GA", "min_version": 3})
		if we.Error.Code != "" || !strings.Contains(string(data), `"u2"`) {
			return fmt.Errorf("members of GA after the rebuild: %s", data)
		}
		return nil
	})

	// "roster status" works with the monitor's read-only grant.
	mjs, err := jetstream.New(d.service(t, "monitor").Conn)
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		st, err := membership.ReadStatus(ctx, mjs)
		if err != nil {
			return err
		}
		if st.Generation.Number != 2 || st.StreamLastSeq == 0 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})

	// The audit sink consumed both of its streams with its grant.
	natstest.Eventually(t, 30*time.Second, func() error {
		for _, c := range []struct{ stream, name string }{{audit.StreamName, "roster-auditsink"}, {"ROSTER_EVENTS", "roster-auditsink-events"}} {
			ci, err := admin.Consumer(ctx, c.stream, c.name)
			if err != nil {
				return err
			}
			if ci.CachedInfo().AckFloor.Stream == 0 {
				return fmt.Errorf("%s has acknowledged nothing", c.name)
			}
		}
		return nil
	})

	// The services never needed more than their grant (checked before
	// the attacks below borrow their credentials).
	for _, svc := range nkeyUsers {
		if v := d.log.violations(d.keys.ServerEnv[nkeyEnv(svc)]); len(v) > 0 {
			t.Errorf("%s hit permission violations:\n%s", svc, strings.Join(v, "\n"))
		}
	}

	t.Run("5 actor bound to the caller", func(t *testing.T) {
		_, we := callJSON(t, bob, "roster.cmd.group.update", map[string]any{"group_id": "GB", "actor": "alice", "name": "stolen"})
		if we.Error.Code != "forbidden" || !strings.Contains(we.Error.Message, `"alice"`) || !strings.Contains(we.Error.Message, `user "bob"`) {
			t.Fatalf("bob as alice: %+v", we.Error)
		}
		// The refusal is audited with both identities.
		natstest.Eventually(t, 10*time.Second, func() error {
			return findAudit(ctx, admin, func(c audit.Command) bool {
				return c.Actor == "alice" && c.Outcome == "rejected" && c.ErrorCode == "forbidden" && strings.Contains(c.ErrorMsg, `user "bob"`)
			})
		})
		data := mustOK(t, appA, membership.SubjectGroup, map[string]any{"group_id": "GB"})
		if strings.Contains(string(data), "stolen") {
			t.Fatalf("group GB changed: %s", data)
		}
	})

	t.Run("2 no application reads another's replies", func(t *testing.T) {
		// Everything above (the operator's secret, APP_B's commands, the
		// dispatcher's KV watches) happened while the sniffer listened.
		heard := 0
		for {
			m, err := sniffed.NextMsg(200 * time.Millisecond)
			if err != nil {
				break
			}
			if !strings.HasPrefix(m.Subject, "_INBOX.app_a.") {
				t.Fatalf("APP_A heard %s: %s", m.Subject, m.Data)
			}
			heard++
		}
		if heard == 0 {
			t.Fatal("the sniffer heard not even APP_A's own replies: it listened nowhere")
		}
		// Within a bound account a user reads only its own inbox.
		if _, err := alice.SubscribeSync("_INBOX.>"); err != nil {
			t.Fatal(err)
		}
		alice.refused(t, "subscription", "_INBOX.>")
		if _, err := alice.SubscribeSync("_INBOX_bob.>"); err != nil {
			t.Fatal(err)
		}
		alice.refused(t, "subscription", "_INBOX_bob.>")
		// Inside ROSTER a service reads only its own inbox.
		q := d.service(t, "query")
		for _, subj := range []string{"_INBOX.>", inboxPrefix("dispatcher") + ".>", "roster.webhook.>", ">"} {
			if _, err := q.SubscribeSync(subj); err != nil {
				t.Fatal(err)
			}
			q.refused(t, "subscription", subj)
		}
		// Applications cannot reach webhook or policy management at all.
		appA.mustRefuseRequest(t, "roster.webhook.endpoint.list", []byte(`{}`))
		appA.mustRefuseRequest(t, "roster.policy.hook.list", []byte(`{}`))
		// Nor can an application answer (or cancel) a delivery job.
		appA.mustRefuseRequest(t, "$JS.ACK.ROSTER_WEBHOOK_DELIVERIES.wh_ep_test.1.1.1.1.1.0", []byte("+TERM"))
	})

	t.Run("3 operators only through roster-webhooks", func(t *testing.T) {
		op.mustRefuseRequest(t, "$JS.API.CONSUMER.CREATE.KV_ROSTER_WEBHOOK_ENDPOINTS.sniff", []byte(`{"stream_name":"KV_ROSTER_WEBHOOK_ENDPOINTS","config":{"name":"sniff"}}`))
		op.mustRefuseRequest(t, "$JS.API.CONSUMER.DELETE.ROSTER_EVENTS."+membership.DurableName(2), nil)
		op.mustRefuseRequest(t, "$JS.API.CONSUMER.CREATE.KV_"+policy.Bucket+".sniff", []byte(`{"stream_name":"KV_ROSTER_POLICY_HOOKS","config":{"name":"sniff"}}`))
		if err := op.Publish(webhook.DeliverySubject("ep_test", "GA"), []byte(`{"forged":true}`)); err != nil {
			t.Fatal(err)
		}
		op.refused(t, "publish", webhook.DeliverySubject("ep_test", "GA"))
		if _, err := admin.Consumer(ctx, "KV_"+endpoint.Bucket, "sniff"); err == nil {
			t.Fatal("the operator created a consumer on the endpoints bucket")
		}
		if _, err := admin.Consumer(ctx, "ROSTER_EVENTS", membership.DurableName(2)); err != nil {
			t.Fatalf("projector's consumer: %v", err)
		}
	})

	t.Run("4 one credential per service", func(t *testing.T) {
		for _, svc := range []string{"dispatcher", "projector", "query", "auditsink", "policy"} {
			c := d.service(t, svc)
			c.mustRefuseRequest(t, "roster.events.GA", []byte(`{"command_id":"forged"}`))
		}
		// Only the dispatcher reads the endpoints bucket: for the other
		// services every Roster stream outside their own is out of reach.
		names := admin.StreamNames(ctx)
		var streams []string
		for n := range names.Name() {
			streams = append(streams, n)
		}
		if names.Err() != nil || len(streams) < 8 {
			t.Fatalf("streams %v: %v", streams, names.Err())
		}
		readers := map[string][]string{
			"projector": {"ROSTER_EVENTS", "KV_ROSTER_PROJECTION", "KV_" + membership.BucketName(2)},
			"query":     {"ROSTER_EVENTS", "KV_ROSTER_PROJECTION", "KV_" + membership.BucketName(2)},
			// roster-groups watches the policy hooks (a consumer), checked
			// read-only below.
			"groups":    {"ROSTER_EVENTS", "OBJ_ROSTER_SNAPSHOTS", "ROSTER_AUDIT", "KV_" + policy.Bucket},
			"policy":    {"ROSTER_AUDIT", "KV_" + policy.Bucket},
			"auditsink": {"ROSTER_EVENTS", "ROSTER_AUDIT"},
			"monitor":   {"KV_ROSTER_PROJECTION"},
		}
		for svc, own := range readers {
			c := d.service(t, svc)
			for _, s := range streams {
				if contains(own, s) {
					continue
				}
				for _, subj := range []string{"$JS.API.DIRECT.GET." + s, "$JS.API.CONSUMER.CREATE." + s + ".sniff"} {
					if err := c.PublishRequest(subj, inboxPrefix(svc)+".x", []byte(`{}`)); err != nil {
						t.Fatal(err)
					}
					c.refused(t, "publish", subj)
				}
			}
		}
	})

	t.Run("roster-groups reads the policy hooks and cannot change them", func(t *testing.T) {
		g := d.service(t, "groups")
		for _, subj := range []string{
			"$KV." + policy.Bucket + ".hk_test", "$JS.API.STREAM.PURGE.KV_" + policy.Bucket, "$JS.API.STREAM.DELETE.KV_" + policy.Bucket,
			"$JS.API.STREAM.UPDATE.KV_" + policy.Bucket, "$JS.API.STREAM.MSG.DELETE.KV_" + policy.Bucket,
		} {
			g.mustRefuseRequest(t, subj, []byte(`{}`))
		}
		if _, err := g.SubscribeSync("roster.policy.hook.>"); err != nil {
			t.Fatal(err)
		}
		g.refused(t, "subscription", "roster.policy.hook.>")
		kv, err := admin.KeyValue(ctx, policy.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		if e, err := kv.Get(ctx, "hk_test"); err != nil || strings.Contains(string(e.Value()), hk.Secret[len("whsec_"):]) {
			t.Fatalf("the hook record: %v (its secret must be sealed)", err)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// findAudit scans ROSTER_AUDIT's command records for one that matches.
func findAudit(ctx context.Context, js jetstream.JetStream, match func(audit.Command) bool) error {
	s, err := js.Stream(ctx, audit.StreamName)
	if err != nil {
		return err
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{audit.Subject(audit.KindCommand)}})
	if err != nil {
		return err
	}
	batch, err := cons.FetchNoWait(1000)
	if err != nil {
		return err
	}
	n := 0
	for m := range batch.Messages() {
		n++
		var c audit.Command
		if json.Unmarshal(m.Data(), &c) == nil && match(c) {
			return nil
		}
	}
	return fmt.Errorf("no matching command among %d audit records", n)
}
