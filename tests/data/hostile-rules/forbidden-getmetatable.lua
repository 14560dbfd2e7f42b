-- hostile: reads the forbidden global 'getmetatable'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'getmetatable'
local x = getmetatable
