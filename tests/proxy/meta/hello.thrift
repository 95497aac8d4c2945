// The service of Aeraki's global-ratelimit sample (thrift-sample-server): routes match method sayHello.
namespace js metamesh.hello

service Hello {
  string sayHello(1: string name)
  string sayGoodbye(1: string name)
}
