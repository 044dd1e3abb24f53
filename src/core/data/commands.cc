#include "core/data/commands.h"

namespace replikv::core {

const DataCommand* find_data_command(std::string_view lower_name) {
  for (const auto family :
       {string_commands(), key_commands(), hash_commands(), set_commands(), sorted_set_commands(),
        sorted_set_algebra_commands(), list_commands()}) {
    for (const auto& command : family) {
      if (command.name == lower_name) return &command;
    }
  }
  return nullptr;
}

bool is_collection_command(const DataCommand& command) {
  for (const auto family : {hash_commands(), set_commands(), sorted_set_commands(),
                            sorted_set_algebra_commands(), list_commands()}) {
    if (&command >= family.data() && &command < family.data() + family.size()) return true;
  }
  return false;
}

}  // namespace replikv::core
