-- hostile: makes table.concat build a huge string
-- expect: load {dir}/hostile.lua:5: error: table.concat: the result would exceed the limit of 1048576 bytes
local t = {}
for i = 1, 2000 do t[i] = ('y'):rep(1000) end
local s = table.concat(t, ('z'):rep(1000))
