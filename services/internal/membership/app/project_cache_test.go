package app

import (
	"fmt"
	"testing"

	"github.com/rosterhq/roster/events/group"
)

func hotWith(members int) *hot {
	s := group.New("g")
	for i := range members {
		s.Members[fmt.Sprint(i)] = &group.Member{}
	}
	return &hot{state: s}
}

func TestStateCacheBound(t *testing.T) {
	tests := []struct {
		name string
		max  int
		puts []int // members per group g0, g1, ...
		use  []string
		keep map[string]bool
		want []string // groups left after trim
	}{
		{"fits", 100, []int{10, 10}, nil, nil, []string{"g0", "g1"}},
		{"evicts least recently used", 25, []int{10, 10, 10}, nil, nil, []string{"g1", "g2"}},
		{"use refreshes", 25, []int{10, 10, 10}, []string{"g0"}, nil, []string{"g0", "g2"}},
		{"keeps the batch's groups", 5, []int{10, 10}, nil, map[string]bool{"g0": true}, []string{"g0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newStateCache(tc.max)
			for i, n := range tc.puts {
				c.put(fmt.Sprintf("g%d", i), hotWith(n))
			}
			for _, id := range tc.use {
				c.get(id)
			}
			c.trim(tc.keep)
			if total := func() (n int) {
				for _, h := range c.byID {
					n += weight(h)
				}
				return n
			}(); total != c.members {
				t.Fatalf("accounted %d members, holds %d", c.members, total)
			}
			if c.len() != len(tc.want) {
				t.Fatalf("want %v, have %d groups", tc.want, c.len())
			}
			for _, id := range tc.want {
				if c.byID[id] == nil {
					t.Fatalf("want %v, %s is gone", tc.want, id)
				}
			}
		})
	}
}
