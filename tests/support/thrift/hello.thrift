// The Aeraki Thrift sample's service (ghcr.io/aeraki-mesh/thrift-sample-server), as used by
// shared/aeraki/dataplane-envoy-configs/thrift/test.yaml and shared/specs/frames.md (T-F1..T-F5).
namespace js metamesh.hello

service HelloService {
  string sayHello(1: string name)
  // Not in the sample: a second method, so tests can call one that test.yaml has no route for.
  string sayGoodbye(1: string name)
}
