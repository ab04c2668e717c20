// Builds the real Jaeger all-in-one used by the integration tests. Jaeger's own go.mod has a
// replace directive, which makes `go install …@version` refuse; a wrapper module carries it.
module zerotrace.test/jaeger

go 1.24.6

require github.com/jaegertracing/jaeger v1.76.0

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
