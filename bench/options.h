// Command-line options of berth_bench: one plain struct filled by main().
#pragma once

#include <cstdint>
#include <string>

namespace berth::bench {

struct Options {
  std::string url;             // http://host:port of the registry
  std::string user, password;  // optional: Basic credentials, token flow on 401
  std::string scenario;
  std::string label;        // name in the table and JSON (default: scenario)
  std::string repo;         // repository (default: bench/<scenario>-<unique>)
  std::string json_path;    // write the result here when set
  int64_t size = -1;        // blob/layer size in bytes (-1: scenario default)
  int64_t min_size = 1024;  // small-blobs: size range
  int64_t max_size = 1 << 20;
  int64_t chunk_size = 8 << 20;  // push-chunked: PATCH size
  int count = -1;                // blobs/images/downloads (-1: scenario default)
  int concurrency = -1;          // threads, one connection each (-1: scenario default)
  double duration = -1;          // seconds for timed loops (-1: scenario default)
  int server_pid = 0;            // sample /proc/<pid> when set
  uint64_t seed = 1;             // blob content generator seed
  bool single_post = false;      // push with one POST ?digest= instead of POST + PUT
  bool verify = false;           // pull-blob/small-blobs: hash what comes back
  bool warm = false;             // pull-blob: one untimed GET before the clock starts
};

}  // namespace berth::bench
