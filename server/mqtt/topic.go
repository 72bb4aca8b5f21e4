package mqtt

import (
	"strings"

	"github.com/paulmach/orb"
)

// Root is the first level of every topic of the twin.
const Root = "kiruna"

// ReadingsTopic is where owner publishes the readings of its sensor.
func ReadingsTopic(owner, sensor string) string {
	return Root + "/" + owner + "/sensors/" + sensor + "/readings"
}

// StateTopic is where the broker keeps a sensor's latest state, retained.
func StateTopic(owner, sensor string) string {
	return Root + "/" + owner + "/sensors/" + sensor + "/state"
}

// parseTopic splits kiruna/{owner}/sensors/{sensor}/{leaf}; ok is false for
// any other shape (or an empty level).
func parseTopic(topic string) (owner, sensor, leaf string, ok bool) {
	parts := strings.Split(topic, "/")
	if len(parts) != 5 || parts[0] != Root || parts[2] != "sensors" || parts[1] == "" || parts[3] == "" {
		return "", "", "", false
	}
	return parts[1], parts[3], parts[4], true
}

// readableFilter reports whether a subscription's filter stays inside the
// twin's topics (kiruna/…), where only states are ever published.
func readableFilter(filter string) bool {
	return strings.HasPrefix(filter, Root+"/")
}

var emptyBound orb.Bound // every sensor
