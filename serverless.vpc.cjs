/**
 * serverless.yml's `provider.vpc`, from the deploying shell like every other setting there:
 * VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS, comma-separated. Neither set: no VPC (the Lambdas
 * reach Redis and API Gateway over AWS's network). One without the other is refused, as is an id
 * of the wrong kind, before anything is deployed.
 */
const ids = (name, prefix) => {
  const list = (process.env[name] ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  for (const id of list) {
    if (!new RegExp(`^${prefix}-[0-9a-f]+$`).test(id)) throw new Error(`${name}: "${id}" is not a ${prefix}- id`);
  }
  return list;
};

module.exports = () => {
  const subnetIds = ids('VPC_SUBNET_IDS', 'subnet');
  const securityGroupIds = ids('VPC_SECURITY_GROUP_IDS', 'sg');
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return null;
  if (subnetIds.length === 0 || securityGroupIds.length === 0) {
    throw new Error('VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together: set both (comma-separated ids) or neither');
  }
  return { subnetIds, securityGroupIds };
};
