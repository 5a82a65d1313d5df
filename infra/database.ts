// The tracking database and the queue store: RDS PostgreSQL and ElastiCache Redis in the isolated
// subnets, encrypted at rest and in transit, reachable only from the security groups given to
// `allowFrom`. Their passwords are generated in Secrets Manager; the connection URLs the
// application reads (tracking.uri, orchestration.redis.url) are secrets too, assembled by
// CloudFormation from dynamic references, so no password appears in the template.
import { Duration, Fn, RemovalPolicy, SecretValue, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as logs from "aws-cdk-lib/aws-logs";
import * as rds from "aws-cdk-lib/aws-rds";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { Network } from "./network.ts";
import type { DeploymentParameters } from "./parameters.ts";

/** Every printable character but letters and digits: passwords that need no escaping in URLs. */
const NOT_ALPHANUMERIC = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const DATABASE_NAME = "genre_classifier";
const DATABASE_USER = "genre_classifier";
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
const POSTGRES_LOG_EXPORTS = ["postgresql", "upgrade"] as const;

export class Databases extends Construct {
  readonly postgres: rds.DatabaseInstance;
  readonly postgresSecurityGroup: ec2.SecurityGroup;
  readonly redis: elasticache.CfnReplicationGroup;
  readonly redisSecurityGroup: ec2.SecurityGroup;
  /** The credentials RDS uses (username, password, host, port, dbname). */
  readonly postgresCredentials: rds.DatabaseSecret;
  readonly redisAuthToken: secretsmanager.Secret;
  /** tracking.uri: postgres://user:password@host:port/database?sslmode=… */
  readonly trackingUri: secretsmanager.Secret;
  /** orchestration.redis.url: rediss://:token@host:port */
  readonly redisUrl: secretsmanager.Secret;

  constructor(scope: Construct, id: string, network: Network, parameters: DeploymentParameters) {
    super(scope, id);
    const { vpc } = network;

    this.postgresSecurityGroup = new ec2.SecurityGroup(this, "PostgresSecurityGroup", {
      vpc,
      description: "PostgreSQL: reachable from the genre-classifier tasks only",
      allowAllOutbound: false,
    });
    this.postgresCredentials = new rds.DatabaseSecret(this, "PostgresCredentials", {
      username: DATABASE_USER,
      dbname: DATABASE_NAME,
      excludeCharacters: NOT_ALPHANUMERIC,
    });
    const parameterGroup = new rds.ParameterGroup(this, "PostgresParameters", {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      description: "genre-classifier: TLS only, slow statements logged",
      parameters: { "rds.force_ssl": "1", log_min_duration_statement: "1000" },
    });
    // The log groups RDS exports to, made first so that they have a retention (RDS would make
    // them without one; the CDK's own retention setting needs a Lambda function).
    const instanceIdentifier = `${Stack.of(this).stackName.toLowerCase()}-tracking`;
    const exportedLogs = POSTGRES_LOG_EXPORTS.map(
      (log) =>
        new logs.LogGroup(this, `PostgresLogs-${log}`, {
          logGroupName: `/aws/rds/instance/${instanceIdentifier}/${log}`,
          retention: parameters.logRetentionDays as logs.RetentionDays,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
    );
    this.postgres = new rds.DatabaseInstance(this, "Postgres", {
      instanceIdentifier,
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      instanceType: new ec2.InstanceType(parameters.database.instanceClass),
      vpc,
      vpcSubnets: network.dataSubnets,
      securityGroups: [this.postgresSecurityGroup],
      port: POSTGRES_PORT,
      credentials: rds.Credentials.fromSecret(this.postgresCredentials),
      databaseName: DATABASE_NAME,
      parameterGroup,
      storageType: rds.StorageType.GP3,
      allocatedStorage: parameters.database.allocatedStorageGiB,
      maxAllocatedStorage: parameters.database.maxAllocatedStorageGiB,
      storageEncrypted: true,
      publiclyAccessible: false,
      multiAz: parameters.database.multiAz,
      backupRetention: Duration.days(parameters.database.backupRetentionDays),
      copyTagsToSnapshot: true,
      deletionProtection: parameters.deletionProtection,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: [...POSTGRES_LOG_EXPORTS],
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
    });

    for (const logGroup of exportedLogs) this.postgres.node.addDependency(logGroup);

    this.redisSecurityGroup = new ec2.SecurityGroup(this, "RedisSecurityGroup", {
      vpc,
      description: "Redis: reachable from the genre-classifier tasks only",
      allowAllOutbound: false,
    });
    this.redisAuthToken = new secretsmanager.Secret(this, "RedisAuthToken", {
      description: "genre-classifier: the ElastiCache Redis AUTH token",
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, "RedisSubnets", {
      description: "genre-classifier Redis: the isolated subnets",
      subnetIds: vpc.selectSubnets(network.dataSubnets).subnetIds,
    });
    // BullMQ keeps its queues in Redis: an evicted key is a lost job, so nothing is evicted.
    const redisParameters = new elasticache.CfnParameterGroup(this, "RedisParameters", {
      cacheParameterGroupFamily: "redis7",
      description: "genre-classifier: BullMQ needs maxmemory-policy noeviction",
      properties: { "maxmemory-policy": "noeviction" },
    });
    const replicated = parameters.redis.replicas > 0;
    this.redis = new elasticache.CfnReplicationGroup(this, "Redis", {
      replicationGroupDescription: "genre-classifier BullMQ queues",
      engine: "redis",
      engineVersion: "7.1",
      cacheNodeType: parameters.redis.nodeType,
      numCacheClusters: 1 + parameters.redis.replicas,
      automaticFailoverEnabled: replicated,
      multiAzEnabled: replicated,
      cacheSubnetGroupName: subnetGroup.ref,
      cacheParameterGroupName: redisParameters.ref,
      securityGroupIds: [this.redisSecurityGroup.securityGroupId],
      port: REDIS_PORT,
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: "required",
      authToken: this.redisAuthToken.secretValue.unsafeUnwrap(),
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: 7,
    });
    this.redis.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);

    // pg reads sslmode from the URL: verify-full with the RDS certificate authorities when the
    // image has them (dbCaBundleFile), else no-verify (encrypted, the server not authenticated).
    const caFile = parameters.database.caBundleFile;
    const tls = caFile
      ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`
      : "sslmode=no-verify";
    this.trackingUri = new secretsmanager.Secret(this, "TrackingUri", {
      description: "genre-classifier: tracking.uri, the PostgreSQL URL with its password",
      secretStringValue: SecretValue.unsafePlainText(
        Fn.join("", [
          `postgres://${DATABASE_USER}:`,
          this.postgresCredentials.secretValueFromJson("password").unsafeUnwrap(),
          "@",
          this.postgres.dbInstanceEndpointAddress,
          ":",
          this.postgres.dbInstanceEndpointPort,
          `/${DATABASE_NAME}?${tls}`,
        ]),
      ),
    });
    this.redisUrl = new secretsmanager.Secret(this, "RedisUrl", {
      description: "genre-classifier: orchestration.redis.url, the Redis URL with its token",
      secretStringValue: SecretValue.unsafePlainText(
        Fn.join("", [
          "rediss://:",
          this.redisAuthToken.secretValue.unsafeUnwrap(),
          "@",
          this.redis.attrPrimaryEndPointAddress,
          ":",
          this.redis.attrPrimaryEndPointPort,
        ]),
      ),
    });
  }

  /** Lets tasks in `group` reach PostgreSQL and Redis (and nothing else may). */
  allowFrom(group: ec2.SecurityGroup, description: string): void {
    this.postgresSecurityGroup.addIngressRule(
      group,
      ec2.Port.tcp(POSTGRES_PORT),
      `PostgreSQL from ${description}`,
    );
    this.redisSecurityGroup.addIngressRule(
      group,
      ec2.Port.tcp(REDIS_PORT),
      `Redis from ${description}`,
    );
    group.addEgressRule(this.postgresSecurityGroup, ec2.Port.tcp(POSTGRES_PORT), "PostgreSQL");
    group.addEgressRule(this.redisSecurityGroup, ec2.Port.tcp(REDIS_PORT), "Redis");
  }
}
