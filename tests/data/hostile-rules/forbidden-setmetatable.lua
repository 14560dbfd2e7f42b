-- hostile: reads the forbidden global 'setmetatable'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'setmetatable'
local x = setmetatable
