// The genre-classifier processes on ECS Fargate in the private subnets: `serve` behind an HTTPS
// application load balancer (the only thing open to the internet) with a CloudWatch agent beside
// it that publishes the queue depth from serve's /metrics, one `scheduler`, and `worker`s scaled
// on that depth. Each service has its own security group, task role (the object store's
// prefix, nothing else) and execution role (its own secrets), and logs with a retention.
import { Aws, Duration, Fn, RemovalPolicy, SecretValue, Stack } from "aws-cdk-lib";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import type * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import {
  COMMANDS,
  ENV,
  EXECUTOR,
  HEALTH_PATH,
  HTTP_PORT,
  QUEUE_DEPTH,
  SECRET_ENV,
  type ServiceName,
  SHUTDOWN_SECONDS,
  STOP_MARGIN_SECONDS,
} from "./application.ts";
import type { Databases } from "./database.ts";
import type { Network } from "./network.ts";
import type { DeploymentParameters } from "./parameters.ts";
import { STORE_PREFIX, type Storage } from "./storage.ts";

export interface ServicesProps {
  network: Network;
  storage: Storage;
  databases: Databases;
  parameters: DeploymentParameters;
  image: ecs.ContainerImage;
  certificate: acm.ICertificate;
}

export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  readonly serverToken: secretsmanager.Secret;
  readonly serve: ecs.FargateService;
  readonly scheduler: ecs.FargateService;
  readonly worker: ecs.FargateService;
  readonly metricsLogGroup: logs.LogGroup;
  /** The agent's Prometheus scrape configuration, a secret since it holds the server token. */
  readonly metricsScrapeConfig: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const { network, storage, databases, parameters, image } = props;
    const { vpc } = network;

    this.cluster = new ecs.Cluster(this, "Cluster", {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.serverToken = new secretsmanager.Secret(this, "ServerToken", {
      description: "genre-classifier: server.token, the bearer token of the UI and APIs",
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });

    const commonEnvironment = {
      [ENV.storageUri]: `s3://${storage.data.bucketName}/${STORE_PREFIX}`,
      [ENV.storageRegion]: Aws.REGION,
      [ENV.executor]: EXECUTOR,
      [ENV.logFormat]: "json",
    };
    const commonSecrets = {
      [SECRET_ENV.trackingUri]: ecs.Secret.fromSecretsManager(databases.trackingUri),
      [SECRET_ENV.redisUrl]: ecs.Secret.fromSecretsManager(databases.redisUrl),
    };

    const service = (name: ServiceName, size: { cpu: number; memoryMiB: number }) => {
      const taskDefinition = new ecs.FargateTaskDefinition(this, `${title(name)}Task`, {
        cpu: size.cpu,
        memoryLimitMiB: size.memoryMiB,
        runtimePlatform: {
          operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
          cpuArchitecture:
            parameters.cpuArchitecture === "arm64"
              ? ecs.CpuArchitecture.ARM64
              : ecs.CpuArchitecture.X86_64,
        },
      });
      grantStore(taskDefinition.taskRole, storage);
      const logGroup = new logs.LogGroup(this, `${title(name)}Logs`, {
        retention: parameters.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const securityGroup = new ec2.SecurityGroup(this, `${title(name)}SecurityGroup`, {
        vpc,
        description: `genre-classifier ${name} tasks`,
        allowAllOutbound: false,
      });
      securityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(443),
        "HTTPS: AWS APIs (S3 through the gateway endpoint), image pulls",
      );
      databases.allowFrom(securityGroup, `${name} tasks`);
      return { taskDefinition, logGroup, securityGroup };
    };
    const container = (
      name: ServiceName,
      parts: ReturnType<typeof service>,
      options: Partial<ecs.ContainerDefinitionOptions>,
    ) =>
      parts.taskDefinition.addContainer(name, {
        image,
        command: COMMANDS[name],
        essential: true,
        logging: ecs.LogDrivers.awsLogs({
          logGroup: parts.logGroup,
          streamPrefix: name,
          mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        }),
        stopTimeout: Duration.seconds(SHUTDOWN_SECONDS[name] + STOP_MARGIN_SECONDS),
        healthCheck: {
          command: [
            "CMD",
            "node",
            "-e",
            `fetch('http://127.0.0.1:${HTTP_PORT}${HEALTH_PATH}', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
          ],
          interval: Duration.seconds(30),
          timeout: Duration.seconds(5),
          retries: 3,
          startPeriod: Duration.seconds(60),
        },
        ...options,
      });

    // serve, behind the load balancer.
    const serve = service("serve", parameters.serve);
    container("serve", serve, {
      portMappings: [{ containerPort: HTTP_PORT, name: "http" }],
      environment: { ...commonEnvironment, [ENV.serverPort]: String(HTTP_PORT) },
      secrets: {
        ...commonSecrets,
        [SECRET_ENV.serverToken]: ecs.Secret.fromSecretsManager(this.serverToken),
      },
    });
    this.metricsLogGroup = new logs.LogGroup(this, "MetricsLogs", {
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.metricsScrapeConfig = addMetricsAgent(this, {
      taskDefinition: serve.taskDefinition,
      metricsLogGroup: this.metricsLogGroup,
      agentLogGroup: serve.logGroup,
      serverToken: this.serverToken,
      parameters,
    });
    this.serve = new ecs.FargateService(this, "Serve", {
      cluster: this.cluster,
      taskDefinition: serve.taskDefinition,
      desiredCount: parameters.serve.count,
      securityGroups: [serve.securityGroup],
      vpcSubnets: network.taskSubnets,
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
    });

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, "LoadBalancerSecurityGroup", {
      vpc,
      description: "genre-classifier load balancer: HTTPS from anywhere",
      allowAllOutbound: false,
    });
    this.loadBalancerSecurityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      "HTTPS from anywhere",
    );
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: parameters.deletionProtection,
      idleTimeout: Duration.seconds(120),
    });
    this.loadBalancer.logAccessLogs(storage.accessLogs, "alb");
    const https = this.loadBalancer.addListener("Https", {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [props.certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
    });
    https.addTargets("Serve", {
      port: HTTP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.serve],
      healthCheck: {
        path: HEALTH_PATH,
        healthyHttpCodes: "200",
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      deregistrationDelay: Duration.seconds(30),
    });
    if (parameters.httpRedirect) {
      // Port 80 answers a redirect to HTTPS and nothing else: a name typed without https://
      // reaches the service instead of timing out.
      this.loadBalancerSecurityGroup.addIngressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(80),
        "HTTP from anywhere, answered only with a redirect to HTTPS",
      );
      this.loadBalancer.addListener("HttpRedirect", {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({
          protocol: "HTTPS",
          port: "443",
          permanent: true,
        }),
      });
    }

    // One scheduler, never two at once (minimum healthy 0 %, maximum 100 % on deployments).
    const scheduler = service("scheduler", parameters.scheduler);
    container("scheduler", scheduler, {
      environment: commonEnvironment,
      secrets: commonSecrets,
    });
    this.scheduler = new ecs.FargateService(this, "Scheduler", {
      cluster: this.cluster,
      taskDefinition: scheduler.taskDefinition,
      desiredCount: 1,
      securityGroups: [scheduler.securityGroup],
      vpcSubnets: network.taskSubnets,
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
    });

    // Workers, scaled on the queue depth.
    const worker = service("worker", parameters.worker);
    container("worker", worker, {
      environment: {
        ...commonEnvironment,
        [ENV.workerConcurrency]: String(parameters.worker.concurrency),
      },
      secrets: commonSecrets,
    });
    this.worker = new ecs.FargateService(this, "Worker", {
      cluster: this.cluster,
      taskDefinition: worker.taskDefinition,
      desiredCount: parameters.worker.min,
      securityGroups: [worker.securityGroup],
      vpcSubnets: network.taskSubnets,
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
    scaleWorkers(this.worker, parameters);
  }
}

function title(name: string): string {
  return name[0]?.toUpperCase() + name.slice(1);
}

/** Read, write and delete under the store's prefix of the data bucket; list the bucket. */
function grantStore(role: iam.IRole, storage: Storage): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "ObjectStore",
      actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      resources: [storage.data.arnForObjects(`${STORE_PREFIX}/*`)],
    }),
  );
  // HeadBucket (the store's readiness check) needs ListBucket without a prefix condition; the
  // bucket holds nothing but the store.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "ObjectStoreListing",
      actions: ["s3:ListBucket"],
      resources: [storage.data.bucketArn],
    }),
  );
}

/** The queue depth as CloudWatch has it from the metrics agent: one queue, one state. */
function queueMetric(state: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: QUEUE_DEPTH.namespace,
    metricName: QUEUE_DEPTH.prometheusName,
    dimensionsMap: {
      [QUEUE_DEPTH.queueLabel]: QUEUE_DEPTH.queue,
      [QUEUE_DEPTH.stateLabel.name]: state,
    },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
  });
}

/**
 * Step scaling: one more worker when `workerScaleOutQueueDepth` task runs wait, three more at
 * five times that; one fewer when nothing waits and nothing runs (a worker stopped then holds no
 * task run to hand back).
 */
function scaleWorkers(worker: ecs.FargateService, parameters: DeploymentParameters): void {
  const capacity = worker.autoScaleTaskCount({
    minCapacity: parameters.worker.min,
    maxCapacity: parameters.worker.max,
  });
  const depth = parameters.worker.scaleOutQueueDepth;
  capacity.scaleOnMetric("ScaleOutOnQueueDepth", {
    metric: queueMetric(QUEUE_DEPTH.stateLabel.value),
    scalingSteps: [
      { upper: depth, change: 0 },
      { lower: depth, upper: depth * 5, change: +1 },
      { lower: depth * 5, change: +3 },
    ],
    adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    cooldown: Duration.minutes(2),
    evaluationPeriods: 2,
  });
  capacity.scaleOnMetric("ScaleInWhenIdle", {
    metric: new cloudwatch.MathExpression({
      label: "task runs waiting or running",
      expression: "waiting + active",
      usingMetrics: { waiting: queueMetric("waiting"), active: queueMetric("active") },
      period: Duration.minutes(1),
    }),
    scalingSteps: [
      { upper: 0, change: -1 },
      { lower: 1, change: 0 },
    ],
    adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    cooldown: Duration.minutes(5),
    evaluationPeriods: 10,
  });
}

/**
 * The CloudWatch agent beside serve: it scrapes serve's /metrics every 30 s with the server token,
 * keeps the queue gauge, and writes it as embedded-metric-format log events, from which
 * CloudWatch makes the metric `GenreClassifier/genre_classifier_queue_jobs` with dimensions queue
 * and state. Every serve task reports the same queues; the scaling alarms take the maximum.
 */
function addMetricsAgent(
  scope: Construct,
  options: {
    taskDefinition: ecs.FargateTaskDefinition;
    metricsLogGroup: logs.LogGroup;
    agentLogGroup: logs.LogGroup;
    serverToken: secretsmanager.Secret;
    parameters: DeploymentParameters;
  },
): secretsmanager.Secret {
  const { taskDefinition, metricsLogGroup } = options;
  const scrapeConfig = new secretsmanager.Secret(scope, "MetricsScrapeConfig", {
    description:
      "genre-classifier: the metrics agent's Prometheus scrape configuration (holds server.token)",
    secretStringValue: SecretValue.unsafePlainText(
      Fn.join("\n", [
        "global:",
        "  scrape_interval: 30s",
        "  scrape_timeout: 10s",
        "scrape_configs:",
        "  - job_name: genre-classifier",
        "    metrics_path: /metrics",
        "    authorization:",
        "      type: Bearer",
        Fn.join("", ['      credentials: "', options.serverToken.secretValue.unsafeUnwrap(), '"']),
        "    static_configs:",
        `      - targets: ["127.0.0.1:${HTTP_PORT}"]`,
        "    metric_relabel_configs:",
        "      - source_labels: [__name__]",
        `        regex: ${QUEUE_DEPTH.prometheusName}`,
        "        action: keep",
      ]),
    ),
  });
  const agent = {
    agent: { region: Aws.REGION },
    logs: {
      metrics_collected: {
        prometheus: {
          log_group_name: metricsLogGroup.logGroupName,
          prometheus_config_path: "env:PROMETHEUS_CONFIG_CONTENT",
          emf_processor: {
            metric_namespace: QUEUE_DEPTH.namespace,
            metric_declaration: [
              {
                source_labels: ["job"],
                label_matcher: "^genre-classifier$",
                dimensions: [[QUEUE_DEPTH.queueLabel, QUEUE_DEPTH.stateLabel.name]],
                metric_selectors: [`^${QUEUE_DEPTH.prometheusName}$`],
              },
            ],
          },
        },
      },
      force_flush_interval: 5,
    },
  };
  taskDefinition.addContainer("metrics-agent", {
    image: ecs.ContainerImage.fromRegistry(options.parameters.metricsAgentImage),
    essential: false,
    memoryReservationMiB: 128,
    environment: { CW_CONFIG_CONTENT: Stack.of(taskDefinition).toJsonString(agent) },
    secrets: { PROMETHEUS_CONFIG_CONTENT: ecs.Secret.fromSecretsManager(scrapeConfig) },
    logging: ecs.LogDrivers.awsLogs({
      logGroup: options.agentLogGroup,
      streamPrefix: "metrics-agent",
      mode: ecs.AwsLogDriverMode.NON_BLOCKING,
    }),
  });
  metricsLogGroup.grant(
    taskDefinition.taskRole,
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
  );
  return scrapeConfig;
}
