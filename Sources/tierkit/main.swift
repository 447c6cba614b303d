import TierCore
print(Policies.all.map(\.name))
