// Pointers to a std::map's values by small key: the model's pools, workqueues and pwqs are looked up
// by every record, and their ids are small (numbered from 0 or 1 by the pool and by kernel mode). A
// std::map's nodes do not move, so a pointer stays true until its value is erased or the map is
// replaced (then clear()). Keys past kDense (damage, or very many) are looked up in the map itself.
#pragma once

#include <cstddef>
#include <map>
#include <type_traits>
#include <utility>
#include <vector>

namespace wqscope {

template <class Key, class Value>
class DenseIndex {
 public:
  using Map = std::map<Key, Value>;

  DenseIndex() = default;
  /// Not carried by a copy or a move: its pointers are into the original's map (rebuilt on use).
  DenseIndex(const DenseIndex&) {}
  DenseIndex& operator=(const DenseIndex&) {
    clear();
    return *this;
  }

  /// `map.find(key)`'s value; null if there is none.
  Value* find(Map& map, const Key& key) {
    if (Value* v = slot(key)) return v;
    auto it = map.find(key);
    if (it == map.end()) return nullptr;
    remember(key, &it->second);
    return &it->second;
  }
  /// `map[key]`: made if there is none.
  Value& operator()(Map& map, const Key& key) {
    if (Value* v = slot(key)) return *v;
    Value& v = map[key];
    remember(key, &v);
    return v;
  }
  /// After a value was erased or the map replaced.
  void clear() { slots_.clear(); }

 private:
  static constexpr std::size_t kDense = 4096;
  static std::size_t index(const Key& key) {
    if constexpr (std::is_integral_v<Key>) {
      return static_cast<std::make_unsigned_t<Key>>(key);  // negative: past kDense
    } else {  // a pair of ids (a pwq's workqueue and pool): dense while both are below 64
      auto first = static_cast<std::make_unsigned_t<typename Key::first_type>>(key.first);
      auto second = static_cast<std::make_unsigned_t<typename Key::second_type>>(key.second);
      return first < 64 && second < 64 ? first * 64 + second : kDense;
    }
  }
  Value* slot(const Key& key) const {
    std::size_t i = index(key);
    return i < slots_.size() ? slots_[i] : nullptr;
  }
  void remember(const Key& key, Value* v) {
    std::size_t i = index(key);
    if (i >= kDense) return;
    if (i >= slots_.size()) slots_.resize(i + 1);
    slots_[i] = v;
  }

  std::vector<Value*> slots_;  // by key; null: not looked up yet
};

}  // namespace wqscope
