// Exchange capacity: how many bytes a parameter server moves per second
// for a model of P parameters, with the real server and the real client
// over ZeroMQ/CURVE (no training: the clients exchange back to back).
//
//   deepspark_exchange_bench server --params=P --workers=N --listen=tcp://HOST:PORT
//       --key-file=K --endpoint-file=F [--shards=S] [--seconds=T]
//   deepspark_exchange_bench client --server=ENDPOINT --key-file=K
//       [--source-address=IP] [--seconds=T] [--rule=async-easgd]
//
// The server's center is an InnerProduct of P/2 outputs on a 1x1 input
// (P/2 weights and P/2 biases). A client joins, then runs the rule's
// exchange (async-easgd: pull the center, push the elastic difference) for
// T seconds and prints one JSON line: exchanges, seconds, bytes sent and
// received, and MB/s both ways. bench/cluster/capacity.py runs these on the
// emulated cluster's nodes.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/param_server.hpp"
#include "deepspark/io.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;

int Serve(int64_t params, int workers, const std::string& listen, const std::string& key_file,
          const std::string& endpoint_file, int shards, int shard_servers, double seconds) {
  ServerOptions opt;
  caffe::NetParameter& net = *opt.solver.mutable_net_param();
  net.set_name("exchange_bench");
  caffe::LayerParameter* data = net.add_layer();
  data->set_name("data");
  data->set_type("DummyData");
  data->add_top("data");
  caffe::BlobShape* shape = data->mutable_dummy_data_param()->add_shape();
  shape->add_dim(1);
  shape->add_dim(1);
  caffe::LayerParameter* ip = net.add_layer();
  ip->set_name("ip");
  ip->set_type("InnerProduct");
  ip->add_bottom("data");
  ip->add_top("ip");
  ip->mutable_inner_product_param()->set_num_output(static_cast<uint32_t>(params / 2));
  ip->mutable_inner_product_param()->mutable_weight_filler()->set_type("constant");
  opt.solver.set_max_iter(1000000);
  opt.solver_path = "exchange_bench";
  opt.num_workers = workers;
  opt.server_threads = shards;
  opt.shard_servers = shard_servers;
  opt.listen = listen;
  opt.key = GenerateJobKey();
  WriteJobKey(opt.key, key_file);
  opt.metrics_path = "/dev/null";
  // The clients send no heartbeats: never drop them, never end by idleness.
  opt.heartbeat_timeout_ms = 1 << 30;
  opt.idle_timeout_s = 1 << 20;
  opt.quiet = true;
  ParameterServer server(opt);
  server.Start();
  WriteFileAtomically(endpoint_file, server.control_endpoint() + "\n");
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  server.Stop();
  server.Wait();
  return 0;
}

int Exchange(const std::string& endpoint, const std::string& key_file, const std::string& source,
             double seconds, const std::string& rule_name) {
  const JobKey key = ReadJobKey(key_file);
  ParamClient client(endpoint, key, -1, 60, MakeZmqTransport(key, source));
  client.Join();
  auto rule = NewExchangeRule(rule_name);
  std::vector<float> x(static_cast<size_t>(client.param_count()), 0.5f);
  client.PullCenter(x.data());
  ExchangeRates rates;
  rates.alpha = 0.1f;
  const ClientStats before = client.stats();
  const auto start = Clock::now();
  int exchanges = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    rule->Exchange(client, x.data(), rates);
    ++exchanges;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const ClientStats& after = client.stats();
  const double sent = static_cast<double>(after.bytes_sent - before.bytes_sent);
  const double received = static_cast<double>(after.bytes_received - before.bytes_received);
  std::printf(
      "{\"params\": %lld, \"exchanges\": %d, \"seconds\": %.3f, \"bytes_sent\": %.0f, "
      "\"bytes_received\": %.0f, \"send_MBps\": %.2f, \"receive_MBps\": %.2f}\n",
      static_cast<long long>(client.param_count()), exchanges, elapsed, sent, received,
      sent / elapsed / 1e6, received / elapsed / 1e6);
  return 0;
}

}  // namespace
}  // namespace distributed
}  // namespace deepspark

int main(int argc, char** argv) {
  CLI::App app("DeepSpark exchange capacity benchmark");
  app.require_subcommand(1);
  int64_t params = 431080;
  int workers = 1, shards = 2, shard_servers = 0;
  double seconds = 20;
  std::string listen, key_file, endpoint_file, server, source, rule = "async-easgd";
  CLI::App* serve = app.add_subcommand("server", "a parameter server with a P-float center");
  serve->add_option("--params", params, "parameters of the center");
  serve->add_option("--workers", workers, "clients that will join");
  serve->add_option("--listen", listen)->required();
  serve->add_option("--key-file", key_file)->required();
  serve->add_option("--endpoint-file", endpoint_file)->required();
  serve->add_option("--shards", shards, "center shards (server threads) per server process");
  serve->add_option("--shard-servers", shard_servers,
                    "split the center over this process and M `deepspark shard-server`s");
  serve->add_option("--seconds", seconds, "how long to serve");
  CLI::App* client = app.add_subcommand("client", "exchange with the server back to back");
  client->add_option("--server", server)->required();
  client->add_option("--key-file", key_file)->required();
  client->add_option("--source-address", source);
  client->add_option("--seconds", seconds, "how long to exchange");
  client->add_option("--rule", rule);
  CLI11_PARSE(app, argc, argv);
  try {
    if (serve->parsed()) {
      return deepspark::distributed::Serve(params, workers, listen, key_file, endpoint_file, shards,
                                           shard_servers, seconds);
    }
    return deepspark::distributed::Exchange(server, key_file, source, seconds, rule);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deepspark_exchange_bench: %s\n", e.what());
    return 1;
  }
}
