package server

import (
	"net/http"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

// handleOpenAPI serves the OpenAPI 3.0 definition of the OGC API –
// Features part of the server (the oas30 conformance class).
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	type m = map[string]any
	layers := make([]string, 0, len(twin.LayerIDs()))
	for _, l := range twin.LayerIDs() {
		layers = append(layers, string(l))
	}
	errResp := m{"description": "a bad parameter or an unknown collection or feature; the error names it",
		"content": m{"application/json": m{"schema": m{"$ref": "#/components/schemas/error"}}}}
	jsonOK := func(desc string) m {
		return m{"description": desc, "content": m{"application/json": m{"schema": m{"type": "object"}}}}
	}
	geoOK := func(desc string) m {
		return m{"description": desc, "content": m{geoJSONType: m{"schema": m{"type": "object"}}}}
	}
	param := func(name, in, desc string, schema m, required bool) m {
		return m{"name": name, "in": in, "description": desc, "required": required, "schema": schema, "style": "form", "explode": false}
	}
	collectionID := param("collectionId", "path", "a layer", m{"type": "string", "enum": layers}, true)
	doc := m{
		"openapi": "3.0.3",
		"info": m{
			"title":       "Kiruna Twin – OGC API – Features",
			"version":     "1.0.0",
			"description": "Every feature of the twin with its life in time. Times are RFC 3339; datetime also takes dates, months and years, which stand for the whole period.",
		},
		"servers": []m{{"url": originVary(w, r)}},
		"paths": m{
			"/": m{"get": m{"summary": "landing page (ask for JSON: ?f=json)", "operationId": "getLandingPage",
				"responses": m{"200": jsonOK("links to the API")}}},
			"/conformance": m{"get": m{"summary": "conformance classes", "operationId": "getConformance",
				"responses": m{"200": jsonOK("the classes")}}},
			"/collections": m{"get": m{"summary": "the collections, one per layer", "operationId": "getCollections",
				"responses": m{"200": jsonOK("the collections")}}},
			"/collections/{collectionId}": m{"get": m{"summary": "one collection", "operationId": "describeCollection",
				"parameters": []m{collectionID},
				"responses":  m{"200": jsonOK("its metadata"), "404": errResp}}},
			"/collections/{collectionId}/items": m{"get": m{"summary": "its features", "operationId": "getFeatures",
				"parameters": []m{
					collectionID,
					param("bbox", "query", "w,s,e,n (or w,s,zmin,e,n,zmax) in CRS84; w > e crosses the antimeridian",
						m{"type": "array", "minItems": 4, "maxItems": 6, "items": m{"type": "number"}}, false),
					param("datetime", "query", "an instant or an interval start/end, either end open (..): features that exist at some time in it",
						m{"type": "string"}, false),
					param("limit", "query", "features per page", m{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}, false),
					param("cursor", "query", "where the page starts; take it from a next link", m{"type": "string"}, false),
					param("kind", "query", "only features of this kind", m{"type": "string"}, false),
					param("status", "query", "only buildings of this status", m{"type": "string", "enum": []string{"standing", "demolished", "moved", "planned"}}, false),
					param("lineage", "query", "only the sites of this lineage", m{"type": "string"}, false),
				},
				"responses": m{"200": geoOK("a FeatureCollection with numberMatched, numberReturned and a next link while more remain"), "400": errResp, "404": errResp}}},
			"/collections/{collectionId}/items/{featureId}": m{"get": m{"summary": "one feature, with the history of its lineage",
				"operationId": "getFeature",
				"parameters":  []m{collectionID, param("featureId", "path", "the feature's id", m{"type": "string"}, true)},
				"responses":   m{"200": geoOK("a Feature"), "404": errResp}}},
		},
		"components": m{"schemas": m{"error": m{"type": "object", "required": []string{"error"},
			"properties": m{"error": m{"type": "string"}}}}},
	}
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json;version=3.0")
	writeJSONAs(w, http.StatusOK, doc)
}
