package mqtt

import "testing"

func TestMatchFilter(t *testing.T) {
	cases := []struct {
		filter, topic string
		want          bool
	}{
		{"kiruna/+/sensors/+/state", "kiruna/acme/sensors/a-1/state", true},
		{"kiruna/+/sensors/+/state", "kiruna/acme/sensors/a-1/readings", false},
		{"kiruna/#", "kiruna/acme/sensors/a-1/state", true},
		{"kiruna/acme/#", "kiruna/acme/sensors/a-1/state", true},
		{"kiruna/acme/#", "kiruna/acme", true},
		{"kiruna/beta/#", "kiruna/acme/sensors/a-1/state", false},
		{"kiruna/acme/sensors/a-1/state", "kiruna/acme/sensors/a-1/state", true},
		{"kiruna/acme/sensors/a-1/state", "kiruna/acme/sensors/a-10/state", false},
		{"kiruna/+/sensors/+", "kiruna/acme/sensors/a-1/state", false},
		{"kiruna/+/sensors/+/state/x", "kiruna/acme/sensors/a-1/state", false},
		{"kiruna/+/+/+/+", "kiruna/acme/sensors/a-1/state", true},
		{"+/#", "kiruna/acme/sensors/a-1/state", true},
	}
	for _, c := range cases {
		if got := matchFilter(c.filter, c.topic); got != c.want {
			t.Errorf("matchFilter(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}
