package delivery_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

func TestSignaturesVerifyWithReferenceLibrary(t *testing.T) {
	oldS, _ := delivery.GenerateSecret()
	newS, _ := delivery.GenerateSecret()
	var keys [][]byte
	for _, s := range []string{newS, oldS} {
		k, err := delivery.ParseSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	body := []byte(`{"type":"member.invited","data":{}}`)
	h := http.Header{}
	delivery.SignHeaders(h, delivery.MessageID("ep1", "ev1"), time.Now(), body, keys)
	if n := len(strings.Fields(h.Get(delivery.HeaderSignature))); n != 2 {
		t.Fatalf("want one signature per active secret (2), have %d", n)
	}
	for _, s := range []string{oldS, newS} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Fatalf("reference verifier rejected the signature: %v", err)
		}
	}
	other, _ := delivery.GenerateSecret()
	wh, _ := standardwebhooks.NewWebhook(other)
	if err := wh.Verify(body, h); err == nil {
		t.Fatal("a foreign secret verified")
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		wantErr error
	}{
		{"generated", mustSecret(t), nil},
		{"no prefix", "abc", delivery.ErrInvalidSecret},
		{"not base64", "whsec_***", delivery.ErrInvalidSecret},
		{"too short", "whsec_c2hvcnQ=", delivery.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := delivery.ParseSecret(tt.secret)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("want %v, have %v", tt.wantErr, err)
			}
			if err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Fatal("error quotes the secret")
			}
		})
	}
}

func mustSecret(t *testing.T) string {
	s, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMessageIDStable(t *testing.T) {
	a, b := delivery.MessageID("ep1", "ev1"), delivery.MessageID("ep1", "ev1")
	if a != b || a == delivery.MessageID("ep2", "ev1") || a == delivery.MessageID("ep1", "ev2") {
		t.Fatalf("ids must be stable per (endpoint, event) and distinct otherwise: %s %s", a, b)
	}
}

// TestJudgeOpenIM: an after-callback succeeds on any 2xx whose body is
// empty or one JSON value (OpenIM ignores the answer, ADR 0085); the
// seed's `{"actionCode":0}Callback ok` stays invalid_response.
func TestJudgeOpenIM(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    delivery.Class
		wantMsg string // a substring of the verdict's message
	}{
		{"seed receiver", 200, `{"actionCode":0}Callback ok`, delivery.ClassInvalidResponse, "after the value"},
		{"plain text", 200, `200 Content`, delivery.ClassInvalidResponse, "not exactly one JSON value"},
		{"html", 200, `<html><body>ok</body></html>`, delivery.ClassInvalidResponse, "not exactly one JSON value"},
		{"two objects", 200, `{"actionCode":0}{"actionCode":0}`, delivery.ClassInvalidResponse, "after the value"},
		{"truncated object", 200, `{"actionCode":0`, delivery.ClassInvalidResponse, "not exactly one JSON value"},
		{"empty", 200, ``, delivery.ClassNone, ""},
		{"whitespace only", 204, " \n", delivery.ClassNone, ""},
		{"array", 200, `[{"actionCode":0}]`, delivery.ClassNone, "not OpenIM's response object"},
		{"wrong type", 200, `{"actionCode":"0"}`, delivery.ClassNone, "not OpenIM's response object"},
		{"refused by receiver", 200, `{"actionCode":1,"errCode":500,"errMsg":"db down"}`, delivery.ClassNone, `actionCode=1 errCode=500 errMsg="db down"`},
		{"ok", 200, `{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}`, delivery.ClassNone, ""},
		{"ok with whitespace", 200, " \n{\"actionCode\":0}\n", delivery.ClassNone, ""},
		{"ok but 500", 500, `{"actionCode":0}`, delivery.ClassHTTP5xx, "HTTP 500"},
		{"404 of a 3.8 receiver", 404, `404 page not found`, delivery.ClassHTTP4xx, "HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := delivery.JudgeOpenIM(delivery.Response{Status: tt.status, Body: []byte(tt.body)})
			if v.Class != tt.want || v.Success != (tt.want == delivery.ClassNone) {
				t.Fatalf("want %q, have %q (%s)", tt.want, v.Class, v.Message)
			}
			if !strings.Contains(v.Message, tt.wantMsg) || (tt.wantMsg == "" && v.Message != "") {
				t.Fatalf("message %q, want it to contain %q", v.Message, tt.wantMsg)
			}
		})
	}
	if v := delivery.JudgeOpenIM(delivery.Response{Status: 200, Body: []byte(`{}`), Truncated: true}); v.Class != delivery.ClassTooLarge {
		t.Fatalf("a body over the cap: want too_large, have %q", v.Class)
	}
}

// The before-callbacks' strict parser still refuses everything but one
// object.
func TestParseOpenIMResponse(t *testing.T) {
	for _, body := range []string{`{"actionCode":0}Callback ok`, ``, `[]`, `"ok"`, `{"actionCode":"0"}`} {
		if _, err := delivery.ParseOpenIMResponse([]byte(body)); !errors.Is(err, delivery.ErrNotOneObject) {
			t.Fatalf("%q: want ErrNotOneObject, have %v", body, err)
		}
	}
	r, err := delivery.ParseOpenIMResponse([]byte(`{"actionCode":0,"nextCode":1,"errCode":7}`))
	if err != nil || r.NextCode != 1 || r.ErrCode != 7 {
		t.Fatalf("have %+v %v", r, err)
	}
}

func TestPolicyNext(t *testing.T) {
	p := delivery.Policy{Schedule: delivery.DefaultSchedule, Jitter: 0.2}
	mid := func() float64 { return 0.5 }
	lo := func() float64 { return 0 }
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		rnd        func() float64
		want       time.Duration
		wantOK     bool
	}{
		{"after first attempt: 5s", 1, 0, mid, 5 * time.Second, true},
		{"after second: 5m", 2, 0, mid, 5 * time.Minute, true},
		{"jitter low end", 2, 0, lo, 4 * time.Minute, true},
		{"retry-after within bounds", 2, 7 * time.Minute, mid, 7 * time.Minute, true},
		{"retry-after clamped up", 2, time.Second, mid, 5 * time.Minute, true},
		{"retry-after clamped down", 2, 24 * time.Hour, mid, 10 * time.Minute, true},
		{"last attempt exhausts", 8, 0, mid, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have, ok := p.Next(tt.attempt, tt.retryAfter, tt.rnd)
			if have != tt.want || ok != tt.wantOK {
				t.Fatalf("want %s %v, have %s %v", tt.want, tt.wantOK, have, ok)
			}
		})
	}
	if err := (delivery.Policy{}).Validate(); err == nil {
		t.Fatal("an empty schedule must not validate")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		value  string
		want   time.Duration
	}{
		{"seconds on 429", 429, "30", 30 * time.Second},
		{"date on 503", 503, now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{"ignored on 500", 500, "30", 0},
		{"garbage", 429, "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Retry-After": {tt.value}}
			if have := delivery.RetryAfter(tt.status, h, now); have != tt.want {
				t.Fatalf("want %s, have %s", tt.want, have)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := delivery.HealthPolicy{MaxConsecutiveFailures: 3, MaxFailingFor: time.Hour}
	var h delivery.Health
	if pause, _ := h.Observe(false, t0, p); pause {
		t.Fatal("paused after one failure")
	}
	h.Observe(false, t0, p)
	if pause, _ := h.Observe(true, t0, p); pause || h.Consecutive() != 0 {
		t.Fatal("a success must reset the run")
	}
	h.Observe(false, t0, p)
	h.Observe(false, t0, p)
	if pause, reason := h.Observe(false, t0, p); !pause || !strings.Contains(reason, "3 consecutive") {
		t.Fatalf("want a pause after 3 failures, have %v %q", pause, reason)
	}
	// By time: failures spread out, below the count threshold.
	h.Reset()
	p.MaxConsecutiveFailures = 100
	h.Observe(false, t0, p)
	if pause, _ := h.Observe(false, t0.Add(59*time.Minute), p); pause {
		t.Fatal("paused before the window")
	}
	if pause, _ := h.Observe(false, t0.Add(61*time.Minute), p); !pause {
		t.Fatal("want a pause after failing for an hour")
	}
}
