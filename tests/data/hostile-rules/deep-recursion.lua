-- hostile: recurses without end (not a tail call)
-- expect: eval rule error: {dir}/hostile.lua:6: stack overflow
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    local function f(n) return f(n + 1) + 1 end
    return f(1)
  end },
}
