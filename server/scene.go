package server

import (
	"net/http"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// sceneBody is the answer of GET /api/scene.
type sceneBody struct {
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Titles    map[string]string `json:"titles,omitempty"`
	Bounds    [4]float64        `json:"bounds"`
	Center    [2]float64        `json:"center"`
	Zoom      float64           `json:"zoom"`
	Pitch     float64           `json:"pitch"`
	Bearing   float64           `json:"bearing"`
	Timeline  scenes.Timeline   `json:"timeline"`
	Layers    []sceneLayer      `json:"layers"`
	Views     []scenes.View     `json:"views"`
	Events    []scenes.Event    `json:"events"`
	Sources   []scenes.Source   `json:"sources"`
	Generated string            `json:"generated,omitempty"`
	// GeneratedTexts is Generated per language.
	GeneratedTexts map[string]string  `json:"generatedTexts,omitempty"`
	Counts         map[twin.Layer]int `json:"counts"`
	Terrain        *terrainInfo       `json:"terrain"` // null: the scene has no elevation model
}

type sceneLayer struct {
	ID     twin.Layer        `json:"id"`
	Title  string            `json:"title"`
	Titles map[string]string `json:"titles,omitempty"`
	Kind   string            `json:"kind"`
}

func (s *Server) handleScene(w http.ResponseWriter, r *http.Request) {
	sc := s.scene.Load()
	if sc == nil {
		writeError(w, http.StatusServiceUnavailable, "the scene is still loading")
		return
	}
	snap := s.cfg.Model.Snapshot()
	body := sceneBody{
		ID: sc.ID, Title: sc.Title, Titles: sc.Titles, Bounds: sc.Bounds, Center: sc.Center,
		Zoom: sc.Zoom, Pitch: sc.Pitch, Bearing: sc.Bearing, Timeline: sc.Timeline,
		Views: sc.Views, Events: sc.Events, Sources: sc.Sources, Generated: sc.Generated, GeneratedTexts: sc.GeneratedTexts,
		Counts: map[twin.Layer]int{}, Terrain: s.terrainInfo(),
	}
	body.Timeline.Now = sc.Now(s.cfg.Clock())
	if body.Views == nil {
		body.Views = []scenes.View{}
	}
	if body.Events == nil {
		body.Events = []scenes.Event{}
	}
	if body.Sources == nil {
		body.Sources = []scenes.Source{}
	}
	for _, l := range sc.Layers {
		body.Layers = append(body.Layers, sceneLayer{ID: l.ID, Title: l.Title, Titles: l.Titles, Kind: l.Kind})
	}
	for _, l := range twin.LayerIDs() {
		body.Counts[l] = snap.Count(l)
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, body)
}
