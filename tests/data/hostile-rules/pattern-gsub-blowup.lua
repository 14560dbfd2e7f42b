-- hostile: makes string.gsub build a huge string
-- expect: load {dir}/hostile.lua:3: error: string.gsub: the result exceeds the limit of 1048576 bytes
local s = ('x'):rep(2 ^ 19):gsub('x', 'xxxx')
