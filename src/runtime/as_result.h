// Completion token for the runtime's coroutines: errors come back as values, never as exceptions.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace replikv::runtime {

inline constexpr auto as_result = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace replikv::runtime
