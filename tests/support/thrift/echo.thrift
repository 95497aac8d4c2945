// Test IDL for the real npm `thrift` peers (tests/support/thrift_peer.ts).
namespace js metamesh.echo

exception NotFound {
  1: string key
}

service Echo {
  // Replies "<server name>:<msg>" so tests see which upstream answered.
  string echo(1: string msg)
  i32 add(1: i32 a, 2: i32 b)
  // Throws the declared NotFound for any key but "known".
  string find(1: string key) throws (1: NotFound notFound)
  oneway void ping(1: string who)
  // Returns the data unchanged (large payloads).
  binary blob(1: binary data)
}

// A second service, for TMultiplexedProtocol.
service Calc {
  i32 mul(1: i32 a, 2: i32 b)
}
