package hookkv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/policy/hooktest"
)

// A bucket deleted under a running view (an operator's repair) empties
// it once the watch notices, and a bucket created again is watched again:
// the view never keeps serving hooks that no longer exist.
func TestViewFollowsABucketDeletedAndCreatedAgain(t *testing.T) {
	srv := natstest.Start(t)
	keys := hooktest.Keyring(t)
	s := provision(t, srv.JS, keys)
	if _, err := s.Create(context.Background(), hooktest.Valid(t, "hk1", "member.invite")); err != nil {
		t.Fatal(err)
	}
	v := runView(t, srv.JS, keys)
	natstest.Eventually(t, 15*time.Second, func() error {
		if len(v.ForCommand("member.invite")) != 1 {
			return errors.New("hook not seen")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.JS.DeleteKeyValue(ctx, hookrec.Bucket); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if n := len(v.ForCommand("member.invite")); n != 0 {
			return errors.New("the deleted bucket's hook is still served")
		}
		return nil
	})
	s = provision(t, srv.JS, keys)
	if _, err := s.Create(context.Background(), hooktest.Valid(t, "hk2", "member.invite")); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if hs := v.ForCommand("member.invite"); len(hs) != 1 || hs[0].ID != "hk2" {
			return errors.New("the new bucket's hook is not served")
		}
		return nil
	})
}
