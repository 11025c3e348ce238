package openim_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers: the webhook's pure delivery rules import this package, so
// it must stay pure itself.
func TestLayers(t *testing.T) {
	archtest.CheckLayers(t, []archtest.Layer{{Dir: ".", Allowed: func(p string) bool {
		return archtest.Stdlib(p) || p == "github.com/rosterhq/roster/events"
	}, Rule: "the OpenIM vocabulary imports the standard library and events only"}})
}
