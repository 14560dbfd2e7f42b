-- hostile: loops forever while the rule set loads
-- expect: load {dir}/hostile.lua:3: error: time limit of 1000 ms exceeded
while true do end
