package record

import "testing"

func TestTruncateUTF8(t *testing.T) {
	if have := TruncateUTF8("aé", 2); have != "a" {
		t.Errorf("want the split rune dropped, have %q", have)
	}
	if have := TruncateUTF8("abc", 5); have != "abc" {
		t.Errorf("want short strings kept, have %q", have)
	}
}
