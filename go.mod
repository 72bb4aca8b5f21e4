module github.com/kiruna-twin/kiruna-twin

go 1.26.8

require (
	github.com/paulmach/orb v0.14.0
	github.com/tidwall/rtree v1.10.0
	github.com/twpayne/go-geom v1.7.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/tidwall/geoindex v1.7.0 // indirect
	go.mongodb.org/mongo-driver/v2 v2.5.0 // indirect
)
