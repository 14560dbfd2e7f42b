-- hostile: recurses through a C function (string.gsub)
-- expect: eval rule error: {dir}/hostile.lua:6: C stack overflow
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    local function f() return (('x'):gsub('x', f)) end
    return f()
  end },
}
