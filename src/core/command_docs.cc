#include "core/command_docs.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace replikv::core {
namespace {

// Every command replikv answers, the strategies' own included: group, summary, arguments.
constexpr CommandDoc docs[] = {
    // Strings.
    {"get", "string", "Returns the string value of a key.", "key"},
    {"set", "string", "Sets the string value of a key, ignoring its type.",
     "key value [(NX|XX)] [GET] "
     "[(EX:seconds|PX:milliseconds|EXAT:unix-time-seconds|PXAT:unix-time-milliseconds|KEEPTTL)]"},
    {"mget", "string", "Returns the string values of one or more keys.", "key+"},
    {"mset", "string", "Sets the string values of one or more keys.", "{key value}+"},
    {"msetnx", "string", "Sets the string values of keys only when none of them exists.",
     "{key value}+"},
    {"incr", "string", "Adds one to the integer value of a key.", "key [ID:request-id]"},
    {"incrby", "string", "Adds a number to the integer value of a key.",
     "key increment [ID:request-id]"},
    {"decr", "string", "Subtracts one from the integer value of a key.", "key [ID:request-id]"},
    {"decrby", "string", "Subtracts a number from the integer value of a key.",
     "key decrement [ID:request-id]"},
    {"incrbyfloat", "string", "Adds a floating point number to the value of a key.",
     "key increment"},
    {"append", "string", "Appends a string to the value of a key.", "key value"},
    {"strlen", "string", "Returns the length of a string value.", "key"},
    {"getrange", "string", "Returns a substring of a string value.", "key start end"},
    {"substr", "string", "Returns a substring of a string value.", "key start end"},
    {"setrange", "string", "Overwrites part of a string value from an offset.", "key offset value"},
    {"getdel", "string", "Returns the string value of a key and deletes it.", "key"},
    {"getex", "string", "Returns the string value of a key and sets or clears its expiration.",
     "key [(EX:seconds|PX:milliseconds|EXAT:unix-time-seconds|PXAT:unix-time-milliseconds|"
     "PERSIST)]"},
    {"getset", "string", "Returns the old value of a key and sets a new one.", "key value"},
    {"setnx", "string", "Sets the value of a key only when it does not exist.", "key value"},
    {"setex", "string", "Sets the value and the expiration in seconds of a key.",
     "key seconds value"},
    {"psetex", "string", "Sets the value and the expiration in milliseconds of a key.",
     "key milliseconds value"},
    {"cas", "string", "Sets a key to a new value only if it holds the expected one (or is absent).",
     "key [expected] new"},
    // The keyspace.
    {"del", "generic", "Deletes one or more keys.", "key+"},
    {"unlink", "generic", "Deletes one or more keys.", "key+"},
    {"exists", "generic", "Counts the keys that exist.", "key+"},
    {"touch", "generic", "Counts the keys that exist (access times are not kept).", "key+"},
    {"type", "generic", "Returns the type of the value of a key.", "key"},
    {"dbsize", "server", "Returns the number of keys.", ""},
    {"scan", "generic", "Iterates over the keys.",
     "cursor [MATCH:pattern] [COUNT:count] [TYPE:type]"},
    {"keys", "generic", "Returns the keys that match a pattern.", "pattern"},
    {"randomkey", "generic", "Returns a random key.", ""},
    {"ttl", "generic", "Returns the time to live of a key in seconds.", "key"},
    {"pttl", "generic", "Returns the time to live of a key in milliseconds.", "key"},
    {"expiretime", "generic", "Returns the expiration time of a key as a Unix timestamp (s).",
     "key"},
    {"pexpiretime", "generic", "Returns the expiration time of a key as a Unix timestamp (ms).",
     "key"},
    {"expire", "generic", "Sets the time to live of a key in seconds.",
     "key seconds [(NX|XX|GT|LT)]"},
    {"pexpire", "generic", "Sets the time to live of a key in milliseconds.",
     "key milliseconds [(NX|XX|GT|LT)]"},
    {"expireat", "generic", "Sets the expiration time of a key to a Unix timestamp (s).",
     "key unix-time-seconds [(NX|XX|GT|LT)]"},
    {"pexpireat", "generic", "Sets the expiration time of a key to a Unix timestamp (ms).",
     "key unix-time-milliseconds [(NX|XX|GT|LT)]"},
    {"persist", "generic", "Removes the expiration of a key.", "key"},
    {"rename", "generic", "Renames a key, replacing the destination.", "key newkey"},
    {"renamenx", "generic", "Renames a key only when the new name does not exist.", "key newkey"},
    {"copy", "generic", "Copies the value of a key to a new key.",
     "source destination [DB:destination-db] [REPLACE]"},
    {"object", "generic", "Inspects the internals of a value.",
     "({ENCODING key}|{FREQ key}|{IDLETIME key}|{REFCOUNT key}|HELP)"},
    {"flushdb", "server", "Removes every key.", "[(ASYNC|SYNC)]"},
    {"flushall", "server", "Removes every key.", "[(ASYNC|SYNC)]"},
    {"wait", "generic",
     "Waits until the connection's last write is held by a number of replicas, or a timeout.",
     "numreplicas timeout"},
    // Hashes.
    {"hset", "hash", "Sets the values of one or more fields of a hash.", "key {field value}+"},
    {"hmset", "hash", "Sets the values of one or more fields of a hash.", "key {field value}+"},
    {"hsetnx", "hash", "Sets the value of a field only when it does not exist.", "key field value"},
    {"hget", "hash", "Returns the value of a field of a hash.", "key field"},
    {"hmget", "hash", "Returns the values of fields of a hash.", "key field+"},
    {"hgetall", "hash", "Returns every field and value of a hash.", "key"},
    {"hkeys", "hash", "Returns every field of a hash.", "key"},
    {"hvals", "hash", "Returns every value of a hash.", "key"},
    {"hdel", "hash", "Deletes fields of a hash.", "key field+"},
    {"hlen", "hash", "Returns the number of fields of a hash.", "key"},
    {"hexists", "hash", "Whether a field exists in a hash.", "key field"},
    {"hstrlen", "hash", "Returns the length of the value of a field.", "key field"},
    {"hincrby", "hash", "Adds a number to the integer value of a field.", "key field increment"},
    {"hincrbyfloat", "hash", "Adds a floating point number to the value of a field.",
     "key field increment"},
    {"hrandfield", "hash", "Returns random fields of a hash.", "key [{count [WITHVALUES]}]"},
    {"hscan", "hash", "Iterates over the fields and values of a hash.",
     "key cursor [MATCH:pattern] [COUNT:count]"},
    // Sets.
    {"sadd", "set", "Adds members to a set.", "key member+"},
    {"srem", "set", "Removes members from a set.", "key member+"},
    {"smembers", "set", "Returns every member of a set.", "key"},
    {"sismember", "set", "Whether a member belongs to a set.", "key member"},
    {"smismember", "set", "Whether each member belongs to a set.", "key member+"},
    {"scard", "set", "Returns the number of members of a set.", "key"},
    {"spop", "set", "Removes and returns random members of a set.", "key [count]"},
    {"srandmember", "set", "Returns random members of a set.", "key [count]"},
    {"smove", "set", "Moves a member from one set to another.", "source destination member"},
    {"sinter", "set", "Returns the intersection of sets.", "key+"},
    {"sunion", "set", "Returns the union of sets.", "key+"},
    {"sdiff", "set", "Returns the difference of sets.", "key+"},
    {"sinterstore", "set", "Stores the intersection of sets in a key.", "destination key+"},
    {"sunionstore", "set", "Stores the union of sets in a key.", "destination key+"},
    {"sdiffstore", "set", "Stores the difference of sets in a key.", "destination key+"},
    {"sintercard", "set", "Returns the number of members of the intersection of sets.",
     "numkeys key+ [LIMIT:limit]"},
    {"sscan", "set", "Iterates over the members of a set.",
     "key cursor [MATCH:pattern] [COUNT:count]"},
    // Sorted sets.
    {"zadd", "sorted-set", "Adds members to a sorted set, or updates their scores.",
     "key [(NX|XX)] [(GT|LT)] [CH] [INCR] {score member}+"},
    {"zincrby", "sorted-set", "Adds a number to the score of a member.", "key increment member"},
    {"zscore", "sorted-set", "Returns the score of a member.", "key member"},
    {"zmscore", "sorted-set", "Returns the scores of members.", "key member+"},
    {"zcard", "sorted-set", "Returns the number of members of a sorted set.", "key"},
    {"zcount", "sorted-set", "Counts the members with scores in a range.", "key min max"},
    {"zlexcount", "sorted-set", "Counts the members in a lexicographical range.", "key min max"},
    {"zrank", "sorted-set", "Returns the rank of a member, lowest score first.", "key member"},
    {"zrevrank", "sorted-set", "Returns the rank of a member, highest score first.", "key member"},
    {"zrem", "sorted-set", "Removes members from a sorted set.", "key member+"},
    {"zrange", "sorted-set", "Returns members in a range of ranks, scores or names.",
     "key start stop [(BYSCORE|BYLEX)] [REV] [{LIMIT offset count}] [WITHSCORES]"},
    {"zrangestore", "sorted-set", "Stores members in a range of a sorted set in a key.",
     "dst src min max [(BYSCORE|BYLEX)] [REV] [{LIMIT offset count}]"},
    {"zrevrange", "sorted-set", "Returns members in a range of ranks, highest score first.",
     "key start stop [WITHSCORES]"},
    {"zrangebyscore", "sorted-set", "Returns members in a range of scores.",
     "key min max [WITHSCORES] [{LIMIT offset count}]"},
    {"zrevrangebyscore", "sorted-set", "Returns members in a range of scores, highest first.",
     "key max min [WITHSCORES] [{LIMIT offset count}]"},
    {"zrangebylex", "sorted-set", "Returns members in a lexicographical range.",
     "key min max [{LIMIT offset count}]"},
    {"zrevrangebylex", "sorted-set", "Returns members in a lexicographical range, reversed.",
     "key max min [{LIMIT offset count}]"},
    {"zpopmin", "sorted-set", "Removes and returns the members with the lowest scores.",
     "key [count]"},
    {"zpopmax", "sorted-set", "Removes and returns the members with the highest scores.",
     "key [count]"},
    {"zremrangebyrank", "sorted-set", "Removes the members in a range of ranks.", "key start stop"},
    {"zremrangebyscore", "sorted-set", "Removes the members in a range of scores.", "key min max"},
    {"zremrangebylex", "sorted-set", "Removes the members in a lexicographical range.",
     "key min max"},
    {"zrandmember", "sorted-set", "Returns random members of a sorted set.",
     "key [{count [WITHSCORES]}]"},
    {"zscan", "sorted-set", "Iterates over the members and scores of a sorted set.",
     "key cursor [MATCH:pattern] [COUNT:count]"},
    {"zunion", "sorted-set", "Returns the union of sorted sets (or sets).",
     "numkeys key+ [WEIGHTS weight+] [AGGREGATE (SUM|MIN|MAX)] [WITHSCORES]"},
    {"zinter", "sorted-set", "Returns the intersection of sorted sets (or sets).",
     "numkeys key+ [WEIGHTS weight+] [AGGREGATE (SUM|MIN|MAX)] [WITHSCORES]"},
    {"zdiff", "sorted-set", "Returns the members of the first sorted set that no other has.",
     "numkeys key+ [WITHSCORES]"},
    {"zunionstore", "sorted-set", "Stores the union of sorted sets (or sets) in a key.",
     "destination numkeys key+ [WEIGHTS weight+] [AGGREGATE (SUM|MIN|MAX)]"},
    {"zinterstore", "sorted-set", "Stores the intersection of sorted sets (or sets) in a key.",
     "destination numkeys key+ [WEIGHTS weight+] [AGGREGATE (SUM|MIN|MAX)]"},
    {"zdiffstore", "sorted-set", "Stores the difference of sorted sets in a key.",
     "destination numkeys key+"},
    {"zintercard", "sorted-set", "Returns the number of members of the intersection.",
     "numkeys key+ [LIMIT:limit]"},
    // Lists.
    {"lpush", "list", "Prepends elements to a list.", "key element+"},
    {"rpush", "list", "Appends elements to a list.", "key element+"},
    {"lpushx", "list", "Prepends elements to a list only when it exists.", "key element+"},
    {"rpushx", "list", "Appends elements to a list only when it exists.", "key element+"},
    {"lpop", "list", "Removes and returns the first elements of a list.", "key [count]"},
    {"rpop", "list", "Removes and returns the last elements of a list.", "key [count]"},
    {"lmpop", "list", "Removes and returns elements from the first non-empty list.",
     "numkeys key+ (LEFT|RIGHT) [COUNT:count]"},
    {"llen", "list", "Returns the length of a list.", "key"},
    {"lindex", "list", "Returns an element of a list by its index.", "key index"},
    {"lrange", "list", "Returns a range of elements of a list.", "key start stop"},
    {"lset", "list", "Sets the value of an element of a list by its index.", "key index element"},
    {"lrem", "list", "Removes elements equal to a value from a list.", "key count element"},
    {"ltrim", "list", "Keeps only a range of elements of a list.", "key start stop"},
    {"linsert", "list", "Inserts an element before or after another.",
     "key (BEFORE|AFTER) pivot element"},
    {"lpos", "list", "Returns the index of matching elements of a list.",
     "key element [RANK:rank] [COUNT:num-matches] [MAXLEN:len]"},
    {"lmove", "list", "Moves an element from one list to another.",
     "source destination (LEFT|RIGHT) (LEFT|RIGHT)"},
    {"rpoplpush", "list", "Moves the last element of a list to the head of another.",
     "source destination"},
    {"blpop", "list", "Removes the first element of a list, waiting until there is one.",
     "key+ timeout"},
    {"brpop", "list", "Removes the last element of a list, waiting until there is one.",
     "key+ timeout"},
    {"blmove", "list", "Moves an element from one list to another, waiting until there is one.",
     "source destination (LEFT|RIGHT) (LEFT|RIGHT) timeout"},
    {"brpoplpush", "list", "Moves the last element of a list to another, waiting for one.",
     "source destination timeout"},
    {"blmpop", "list", "Removes elements from the first non-empty list, waiting for one.",
     "timeout numkeys key+ (LEFT|RIGHT) [COUNT:count]"},
    // Transactions.
    {"multi", "transactions", "Starts a transaction.", ""},
    {"exec", "transactions", "Executes the commands of a transaction.", ""},
    {"discard", "transactions", "Discards a transaction.", ""},
    {"watch", "transactions", "Watches keys: EXEC aborts if one changes first.", "key+"},
    {"unwatch", "transactions", "Forgets every watched key.", ""},
    // Connection and server.
    {"ping", "connection", "Answers PONG, or the message.", "[message]"},
    {"echo", "connection", "Returns the message.", "message"},
    {"time", "server", "Returns the server's time.", ""},
    {"select", "connection", "Selects the database (0 only).", "index"},
    {"hello", "connection", "Handshakes: the protocol (2 only) and the server's properties.",
     "[{protover [{AUTH username password}] [SETNAME:clientname]}]"},
    {"quit", "connection", "Closes the connection.", ""},
    {"info", "server", "Returns information and statistics about the server.", "[section]"},
    {"role", "server", "Returns this node's replication role.", ""},
    {"command", "server", "Returns details about the commands.",
     "[(COUNT|{INFO [command-name+]}|{DOCS [command-name+]})]"},
    {"config", "server", "Returns configuration parameters.", "({GET parameter+}|RESETSTAT)"},
    {"client", "connection", "Manages this client's connection and lists the others.",
     "(ID|GETNAME|{SETNAME connection-name}|LIST|{SETINFO attr value}|{KILL filter+})"},
    // replikv's own.
    {"fault", "replikv", "Injects faults on this node's links and clock (--test-faults).",
     "(CUT|HEAL|DELAY|LOSS|SKEW|DRIFT|STATUS) [argument+]"},
    {"debug", "replikv", "A digest of this node's data, or this connection's position.",
     "(DIGEST|POSITION)"},
    {"read", "replikv", "Runs a read at a chosen consistency.", "consistency command [argument+]"},
    {"consistency", "replikv", "Sets or shows this connection's read consistency.", "[level]"},
    {"wconsistency", "replikv", "Leaderless: how many replicas this connection's writes wait for.",
     "[level]"},
    {"session", "replikv", "Shows, sets or resets this connection's session token.",
     "[(token|RESET)]"},
    {"vget", "replikv", "Every concurrent value of a key, and the context they were read at.",
     "key"},
    {"vset", "replikv", "Writes a value that supersedes what a context covers.",
     "key context value [(EX:seconds|PX:milliseconds)]"},
    {"failover", "replikv", "Hands leadership over to a node, or forces its promotion.",
     "TO:node [FORCE] [ACCEPT-DATA-LOSS] [TIMEOUT:milliseconds]"},
};

// A parsed argument of the syntax.
struct Arg {
  std::string name, type, token;
  bool optional = false, multiple = false;
  std::vector<Arg> children;
};

class SyntaxParser {
 public:
  explicit SyntaxParser(std::string_view text) : text_(text) {}

  // The whole syntax: a sequence of arguments.
  std::optional<std::vector<Arg>> parse() {
    std::vector<std::vector<Arg>> alternatives;
    if (!sequence(0, alternatives) || alternatives.size() != 1 || peek() != 0) return std::nullopt;
    return std::move(alternatives.front());
  }

 private:
  char peek() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    return pos_ < text_.size() ? text_[pos_] : 0;
  }

  // Arguments until `close` (0: the end), split at '|' into alternatives.
  bool sequence(char close, std::vector<std::vector<Arg>>& alternatives) {
    alternatives.emplace_back();
    while (true) {
      const char c = peek();
      if (c == close) {
        if (close != 0) ++pos_;
        return !alternatives.back().empty() || (close == 0 && alternatives.size() == 1);
      }
      if (c == 0 || c == ']' || c == ')' || c == '}') return false;
      if (c == '|') {
        if (alternatives.back().empty()) return false;
        ++pos_;
        alternatives.emplace_back();
        continue;
      }
      Arg arg;
      if (!item(arg)) return false;
      if (peek() == '+') {
        ++pos_;
        arg.multiple = true;
      }
      alternatives.back().push_back(std::move(arg));
    }
  }

  static std::string joined_names(const std::vector<Arg>& args, std::string_view separator) {
    std::string out;
    for (const auto& arg : args) out += (out.empty() ? "" : std::string(separator)) + arg.name;
    return out;
  }

  // A group's arguments as one: one of its alternatives, a block, or its one argument.
  static Arg group(std::vector<std::vector<Arg>> alternatives, bool force_block) {
    if (alternatives.size() > 1) {
      Arg oneof{"", "oneof", "", false, false, {}};
      for (auto& alternative : alternatives) {
        if (alternative.size() == 1) {
          oneof.children.push_back(std::move(alternative.front()));
        } else {
          Arg block{joined_names(alternative, "-"), "block", "", false, false,
                    std::move(alternative)};
          oneof.children.push_back(std::move(block));
        }
      }
      oneof.name = joined_names(oneof.children, "-");
      return oneof;
    }
    auto& only = alternatives.front();
    if (only.size() == 1 && !force_block) return std::move(only.front());
    return Arg{joined_names(only, "-"), "block", "", false, false, std::move(only)};
  }

  bool item(Arg& out) {
    const char c = peek();
    if (c == '[' || c == '(' || c == '{') {
      ++pos_;
      std::vector<std::vector<Arg>> alternatives;
      if (!sequence(c == '[' ? ']' : c == '(' ? ')' : '}', alternatives)) return false;
      out = group(std::move(alternatives), c == '{');
      if (c == '[') out.optional = true;
      return true;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '-' ||
            text_[pos_] == '_' || text_[pos_] == ':')) {
      ++pos_;
    }
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word.empty()) return false;
    const auto lower = [](std::string_view text) {
      std::string lowered(text);
      for (char& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return lowered;
    };
    const auto type_of = [](const std::string& name) {
      const bool key = name.ends_with("key") || name == "destination" || name == "source" ||
                       name == "dst" || name == "src";
      return std::string(key ? "key" : "string");
    };
    if (const size_t colon = word.find(':'); colon != std::string_view::npos) {
      if (colon == 0 || colon + 1 == word.size()) return false;
      out.token = std::string(word.substr(0, colon));
      out.name = lower(word.substr(colon + 1));
      out.type = type_of(out.name);
      return true;
    }
    const bool token = std::none_of(word.begin(), word.end(), [](char ch) {
      return std::islower(static_cast<unsigned char>(ch)) != 0;
    });
    out.name = lower(word);
    if (token) {
      out.type = "pure-token";
      out.token = std::string(word);
    } else {
      out.type = type_of(out.name);
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Reply arg_reply(const Arg& arg) {
  std::vector<Reply> fields = {Reply::bulk("name"), Reply::bulk(arg.name), Reply::bulk("type"),
                               Reply::bulk(arg.type)};
  if (!arg.token.empty()) {
    fields.push_back(Reply::bulk("token"));
    fields.push_back(Reply::bulk(arg.token));
  }
  if (arg.optional || arg.multiple) {
    std::vector<Reply> flags;
    if (arg.optional) flags.push_back(Reply::status("optional"));
    if (arg.multiple) flags.push_back(Reply::status("multiple"));
    fields.push_back(Reply::bulk("flags"));
    fields.push_back(Reply::array(std::move(flags)));
  }
  if (!arg.children.empty()) {
    std::vector<Reply> children;
    for (const auto& child : arg.children) children.push_back(arg_reply(child));
    fields.push_back(Reply::bulk("arguments"));
    fields.push_back(Reply::array(std::move(children)));
  }
  return Reply::array(std::move(fields));
}

}  // namespace

std::optional<CommandDoc> find_command_doc(std::string_view name) {
  for (const auto& doc : docs) {
    if (doc.name == name) return doc;
  }
  return std::nullopt;
}

std::optional<Reply> syntax_arguments(std::string_view syntax) {
  auto args = SyntaxParser(syntax).parse();
  if (!args) return std::nullopt;
  std::vector<Reply> replies;
  for (const auto& arg : *args) replies.push_back(arg_reply(arg));
  return Reply::array(std::move(replies));
}

Reply command_doc_reply(const CommandDoc& doc) {
  std::vector<Reply> fields = {Reply::bulk("summary"), Reply::bulk(std::string(doc.summary)),
                               Reply::bulk("since"),   Reply::bulk("0.1.0"),
                               Reply::bulk("group"),   Reply::bulk(std::string(doc.group))};
  if (auto arguments = syntax_arguments(doc.syntax); arguments && !arguments->elements.empty()) {
    fields.push_back(Reply::bulk("arguments"));
    fields.push_back(std::move(*arguments));
  }
  return Reply::array(std::move(fields));
}

}  // namespace replikv::core
