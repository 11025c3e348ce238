package delivery_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/jsonx"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// The standard body's exact bytes, as json.Marshal wrote them before the
// hand-written encoder (ADR 0115): receivers verify signatures over these
// bytes, so they may never change.
func TestStandardBodyGolden(t *testing.T) {
	ev := benchEvent()
	ev.OccurredAt = ev.OccurredAt.In(time.FixedZone("CET", 3600))
	got, err := delivery.StandardBody(ev)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"type":"member.invited","timestamp":"2026-12-02T01:56:04.123456789Z","data":{"id":"0193a5f2-7b3c-7d41-9a6e-3f1c2b4d5e6f",` +
		`"type":"member.invited","schema_version":2,"group_id":"dh-00042","version":17,"occurred_at":"2026-12-02T02:56:04.123456789+01:00",` +
		`"command_id":"5f0c8e2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b","correlation_id":"5f0c8e2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b","actor":"owner-1",` +
		`"data":{"user_id":"dh-00042-i16","role":"member","inviter":"owner-1","join_source":2,"nickname":"Zoë"}}}`
	if string(got) != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	agree(t, "golden", ev)
	if _, ok := jsonx.AppendEvent(nil, &ev); !ok {
		t.Fatal("the fast path refused a plain event: every delivery would go through reflection")
	}
}

// Values the fast path hands to json.Marshal, and values it writes itself
// that need care; every one must come out as json.Marshal writes it.
func TestStandardBodyAgreesOnOddEvents(t *testing.T) {
	base := benchEvent()
	odd := []func(*events.Event){
		func(e *events.Event) { e.Data = nil },
		func(e *events.Event) { e.Data = json.RawMessage{} },
		func(e *events.Event) { e.Data = json.RawMessage(`{ "a" : [1, 2] }`) },
		func(e *events.Event) { e.Data = json.RawMessage("{\"a\":\"x\ty\"}") },
		func(e *events.Event) { e.Data = json.RawMessage(`{"a":"<b>&"}`) },
		func(e *events.Event) { e.Data = json.RawMessage("{\"a\":\"\u2028\u2029\"}") },
		func(e *events.Event) { e.Data = json.RawMessage(`{"a":"\"\\u003c\\\\"}`) },
		func(e *events.Event) { e.Data = json.RawMessage(`{"a":1`) },
		func(e *events.Event) { e.Data = json.RawMessage(`"\xff"`) },
		func(e *events.Event) { e.CorrelationID = "" },
		func(e *events.Event) { e.Actor = "Zoë <zoe@example.com>" },
		func(e *events.Event) { e.Actor = "a\"b\\c\n" },
		func(e *events.Event) { e.GroupID = "\xff\xfe" },
		func(e *events.Event) { e.CommandID = "\u2028" },
		func(e *events.Event) { e.Type = "x\u007fy" },
		func(e *events.Event) { e.SchemaVersion = -3 },
		func(e *events.Event) { e.Version = 1<<64 - 1 },
		func(e *events.Event) { e.OccurredAt = time.Time{} },
		func(e *events.Event) { e.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(e *events.Event) {
			e.OccurredAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 5*3600+1800+7))
		},
	}
	for i, f := range odd {
		ev := base
		f(&ev)
		agree(t, i, ev)
	}
}

func agree(t *testing.T, name any, ev events.Event) {
	t.Helper()
	want, wantErr := json.Marshal(delivery.StandardPayload{Type: string(ev.Type), Timestamp: ev.OccurredAt.UTC(), Data: ev})
	got, err := delivery.StandardBody(ev)
	if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("%v: StandardBody = %q, %v; json.Marshal = %q, %v", name, got, err, want, wantErr)
	}
	if b, ok := jsonx.AppendEvent([]byte("x"), &ev); ok {
		if w, _ := json.Marshal(ev); string(b) != "x"+string(w) {
			t.Fatalf("%v: AppendEvent = %q; json.Marshal = %q", name, b, w)
		}
	}
}

func FuzzStandardBody(f *testing.F) {
	b := benchEvent()
	f.Add(b.ID, string(b.Type), 2, b.GroupID, b.Version, b.OccurredAt.UnixNano(), 0, b.CommandID, b.CorrelationID, b.Actor, []byte(b.Data), false)
	f.Add("", "", 0, "", uint64(0), int64(0), 3600, "", "", "", []byte(`[1, "<", {"\u2028": null}]`), true)
	f.Fuzz(func(t *testing.T, id, typ string, sv int, gid string, ver uint64, nanos int64, zone int, cmd, corr, actor string, data []byte, nilData bool) {
		ev := events.Event{ID: id, Type: events.Type(typ), SchemaVersion: sv, GroupID: gid, Version: ver,
			OccurredAt: time.Unix(0, nanos).In(time.FixedZone("z", zone%(18*3600))), CommandID: cmd, CorrelationID: corr, Actor: actor, Data: data}
		if nilData {
			ev.Data = nil
		}
		agree(t, "fuzz", ev)
	})
}

// A Signer signs as Sign does, concurrently (go test -race), and its
// signatures verify with the reference library, for one key and for two
// (a rotation).
func TestSignerAgreesWithSign(t *testing.T) {
	secrets := []string{mustSecret(t), mustSecret(t)}
	var keys [][]byte
	for _, s := range secrets {
		k, err := delivery.ParseSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for n := 0; n <= 2; n++ {
		s := delivery.NewSigner(keys[:n])
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					id := delivery.MessageID("ep", strings.Repeat("e", g+i))
					ts := time.Unix(1_764_640_564+int64(i), 0)
					body := []byte(`{"i":` + strings.Repeat("1", i+1) + `}`)
					if got, want := s.Sign(id, ts, body), delivery.Sign(id, ts, body, keys[:n]); got != want {
						t.Errorf("keys %d: Signer %q, Sign %q", n, got, want)
						return
					}
					h := http.Header{}
					delivery.SignHeadersWith(h, id, ts, body, s)
					for _, sec := range secrets[:n] {
						wh, err := standardwebhooks.NewWebhook(sec)
						if err != nil {
							t.Error(err)
							return
						}
						if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
							t.Errorf("keys %d: reference verifier rejected: %v", n, err)
							return
						}
					}
					if n == 0 && h.Get(delivery.HeaderSignature) != "" {
						t.Error("signed without keys")
					}
				}
			}()
		}
		wg.Wait()
	}
}
