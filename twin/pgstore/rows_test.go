package pgstore

import (
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// Every kind of record a store writes has a place in the tables, and the
// streams are the stores'.
func TestEveryRecordKindIsProjected(t *testing.T) {
	kinds := live.RecordKinds()
	for _, k := range kinds {
		if _, ok := projections[kindKey{k.Stream, k.Kind}]; !ok {
			t.Errorf("the %s stream's %s records (kind %d) have no projection", k.Stream, k.Name, k.Kind)
		}
		if k.Stream != StreamLive && k.Stream != StreamPilots {
			t.Errorf("kind %s: stream %q is not a stream of the store", k.Name, k.Stream)
		}
	}
	if len(projections) != len(kinds) {
		t.Errorf("%d projections for %d record kinds", len(projections), len(kinds))
	}
}
