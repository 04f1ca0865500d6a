export {
  operationSingleFlight,
  singleFlightEnv,
  type OperationSingleFlight,
  type SingleFlightStats,
} from './operations.ts';
