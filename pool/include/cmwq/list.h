// Intrusive doubly linked list in the style of the kernel's list_head.
// An object can sit on one list per Tag; it never allocates, so the core's
// hot path (queue, take, complete) does no heap work.
#pragma once

#include <cassert>
#include <cstddef>

namespace cmwq {

template <class Tag>
struct Link {
  Link* prev = this;
  Link* next = this;

  Link() = default;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  bool on_list() const { return next != this; }
  void unlink() {
    prev->next = next;
    next->prev = prev;
    prev = next = this;
  }
  /// Inserts this node right before `pos` (list_add_tail semantics).
  void insert_before(Link* pos) {
    assert(!on_list());
    prev = pos->prev;
    next = pos;
    pos->prev->next = this;
    pos->prev = this;
  }
};

template <class T, class Tag>
class List {
 public:
  using Node = Link<Tag>;

  List() = default;
  List(const List&) = delete;
  List& operator=(const List&) = delete;

  bool empty() const { return !head_.on_list(); }
  std::size_t size() const {
    std::size_t n = 0;
    for (const Node* p = head_.next; p != &head_; p = p->next) ++n;
    return n;
  }
  T* front() const { return empty() ? nullptr : of(head_.next); }
  T* back() const { return empty() ? nullptr : of(head_.prev); }
  /// The element after `x`, or nullptr at the end.
  T* next(const T* x) const {
    const Node* n = static_cast<const Node*>(x)->next;
    return n == &head_ ? nullptr : of(n);
  }
  void push_back(T* x) { static_cast<Node*>(x)->insert_before(&head_); }
  void push_front(T* x) { static_cast<Node*>(x)->insert_before(head_.next); }
  /// Inserts `x` right after `pos` (which is on this list).
  void insert_after(T* pos, T* x) { static_cast<Node*>(x)->insert_before(static_cast<Node*>(pos)->next); }
  /// Inserts `x` right before `pos` (nullptr: at the end).
  void insert_before(T* pos, T* x) {
    static_cast<Node*>(x)->insert_before(pos ? static_cast<Node*>(pos) : &head_);
  }
  static void remove(T* x) { static_cast<Node*>(x)->unlink(); }

  class iterator {
   public:
    iterator(const Node* n, const Node* head) : n_(n), head_(head) {}
    T* operator*() const { return of(n_); }
    iterator& operator++() {
      n_ = n_->next;
      return *this;
    }
    bool operator!=(const iterator& o) const { return n_ != o.n_; }

   private:
    const Node* n_;
    const Node* head_;
  };
  iterator begin() const { return {head_.next, &head_}; }
  iterator end() const { return {&head_, &head_}; }

 private:
  static T* of(const Node* n) { return static_cast<T*>(const_cast<Node*>(n)); }
  Node head_;
};

}  // namespace cmwq
